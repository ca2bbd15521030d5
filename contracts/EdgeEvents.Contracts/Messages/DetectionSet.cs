using MessagePack;

namespace EdgeEvents.Contracts.Messages;

[MessagePackObject]
public sealed record Detection
{
    [Key(0)] public int ClassId { get; init; }
    [Key(1)] public required string Label { get; init; }
    [Key(2)] public float Confidence { get; init; }
    /// <summary>Box in source-image pixels, clipped to the image.</summary>
    [Key(3)] public Box Box { get; init; }
}

/// <summary>Milliseconds spent in each detector stage for one frame.</summary>
[MessagePackObject]
public sealed record StageTimings
{
    /// <summary>Time the frame waited between receipt and the start of processing.</summary>
    [Key(0)] public double QueueMs { get; init; }
    [Key(1)] public double DecodeMs { get; init; }
    [Key(2)] public double LetterboxMs { get; init; }
    [Key(3)] public double InferenceMs { get; init; }
    [Key(4)] public double PostprocessMs { get; init; }
}

/// <summary>The objects one model found in one frame. Published on <c>{prefix}/detections/{camera}</c>.</summary>
[MessagePackObject]
public sealed record DetectionSet : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Camera { get; init; }
    [Key(4)] public long FrameSequence { get; init; }
    [Key(5)] public DateTimeOffset CapturedAt { get; init; }
    [Key(6)] public required string ModelId { get; init; }
    [Key(7)] public int ImageWidth { get; init; }
    [Key(8)] public int ImageHeight { get; init; }
    [Key(9)] public IReadOnlyList<Detection> Detections { get; init; } = [];
    [Key(10)] public StageTimings Timings { get; init; } = new();
    /// <summary>Id of the frame message the detections came from.</summary>
    [Key(11)] public string? FrameId { get; init; }
}
