namespace EdgeEvents.Contracts.Serialization;

/// <summary>
/// A payload that is not a valid message of the expected type. The message says why, for the error topic.
/// </summary>
public sealed class MessageFormatException : Exception
{
    public MessageFormatException(string message) : base(message) { }
    public MessageFormatException(string message, Exception inner) : base(message, inner) { }
}
