namespace EdgeEvents.Contracts.Messages;

/// <summary>Every message carries a unique id (consumers de-duplicate on it) and a creation time.</summary>
public interface IEdgeMessage
{
    /// <summary>Schema version of the message type; bumped on breaking changes.</summary>
    int Version { get; }

    /// <summary>Unique id (32 hex characters), stable across redeliveries.</summary>
    string Id { get; }

    /// <summary>When the producer created the message (UTC).</summary>
    DateTimeOffset CreatedAt { get; }
}

public static class MessageId
{
    /// <summary>A new random id: 32 lowercase hex characters.</summary>
    public static string New() => Guid.CreateVersion7().ToString("N");
}
