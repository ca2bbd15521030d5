using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// A frame that cannot be turned into a model input; <see cref="Kind"/> is one of <see cref="ErrorKinds"/>.
/// </summary>
public sealed class FrameDecodeException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}
