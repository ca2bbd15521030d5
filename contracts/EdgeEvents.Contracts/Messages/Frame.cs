using MessagePack;

namespace EdgeEvents.Contracts.Messages;

public enum FrameEncoding { Jpeg = 0, Png = 1, Rgb24 = 2, Bgr24 = 3 }

/// <summary>One camera image. Published on <c>{prefix}/frames/{camera}</c> as MessagePack by default.</summary>
[MessagePackObject]
public sealed record Frame : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Camera { get; init; }
    [Key(4)] public long Sequence { get; init; }
    [Key(5)] public DateTimeOffset CapturedAt { get; init; }
    [Key(6)] public FrameEncoding Encoding { get; init; }
    /// <summary>Pixel width; required for raw encodings, 0 (unknown until decoded) allowed for JPEG/PNG.</summary>
    [Key(7)] public int Width { get; init; }
    [Key(8)] public int Height { get; init; }
    [Key(9)] public required byte[] Data { get; init; }
    [Key(10)] public Dictionary<string, string>? Attributes { get; init; }
}
