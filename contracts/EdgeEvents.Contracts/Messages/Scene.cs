using MessagePack;

namespace EdgeEvents.Contracts.Messages;

/// <summary>A tracked object as the scene worker sees it.</summary>
[MessagePackObject]
public sealed record SceneObject
{
    /// <summary>Stable, unique track id: <c>{camera}-{start time}-{n}</c>.</summary>
    [Key(0)] public required string TrackId { get; init; }
    [Key(1)] public required string Label { get; init; }
    [Key(2)] public int ClassId { get; init; }
    [Key(3)] public float Confidence { get; init; }
    /// <summary>Highest confidence seen over the track's life.</summary>
    [Key(4)] public float TopConfidence { get; init; }
    [Key(5)] public Box Box { get; init; }
    [Key(6)] public DateTimeOffset FirstSeen { get; init; }
    [Key(7)] public DateTimeOffset LastSeen { get; init; }
    [Key(8)] public bool Stationary { get; init; }
    [Key(9)] public IReadOnlyList<string> CurrentZones { get; init; } = [];
    [Key(10)] public IReadOnlyList<string> EnteredZones { get; init; } = [];
}

/// <summary>Reference to the frame an event or state was derived from.</summary>
[MessagePackObject]
public sealed record FrameRef
{
    [Key(0)] public long Sequence { get; init; }
    [Key(1)] public DateTimeOffset CapturedAt { get; init; }
    [Key(2)] public string? FrameId { get; init; }
}

/// <summary>Current objects on one camera. Retained on <c>{prefix}/scene/{camera}</c>.</summary>
[MessagePackObject]
public sealed record SceneState : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Camera { get; init; }
    [Key(4)] public FrameRef Frame { get; init; } = new();
    [Key(5)] public IReadOnlyList<SceneObject> Objects { get; init; } = [];
    [Key(6)] public IReadOnlyDictionary<string, int> Counts { get; init; } = new Dictionary<string, int>();
}

public static class SceneEventTypes
{
    public const string New = "new";
    public const string Update = "update";
    public const string End = "end";
    /// <summary>The number of objects of some label changed.</summary>
    public const string Count = "count";
}

/// <summary>
/// Values of <see cref="SceneEvent.Changes"/> on <c>update</c> events (a <c>count</c> event lists the labels whose
/// count changed).
/// </summary>
public static class SceneChanges
{
    public const string ZoneEntered = "zone_entered";
    public const string ZoneLeft = "zone_left";
    public const string Stationary = "stationary";
    public const string Moving = "moving";
    public const string Confidence = "confidence";
}

/// <summary>A lifecycle event of a tracked object. Published (QoS 1) on <c>{prefix}/events/{camera}</c>.</summary>
[MessagePackObject]
public sealed record SceneEvent : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Camera { get; init; }
    /// <summary>One of <see cref="SceneEventTypes"/>.</summary>
    [Key(4)] public required string Type { get; init; }
    [Key(5)] public string? TrackId { get; init; }
    [Key(6)] public string? Label { get; init; }
    [Key(7)] public SceneObject? Before { get; init; }
    [Key(8)] public SceneObject? After { get; init; }
    [Key(9)] public DateTimeOffset StartTime { get; init; }
    [Key(10)] public DateTimeOffset? EndTime { get; init; }
    [Key(11)] public IReadOnlyList<string> Zones { get; init; } = [];
    [Key(12)] public FrameRef Frame { get; init; } = new();
    /// <summary>
    /// Why an <c>update</c> was raised, e.g. <c>zone_entered</c>, <c>stationary</c>, <c>confidence</c>.
    /// </summary>
    [Key(13)] public IReadOnlyList<string> Changes { get; init; } = [];
    /// <summary>Counts per label after the event (always set on <c>count</c> events).</summary>
    [Key(14)] public IReadOnlyDictionary<string, int>? Counts { get; init; }
}
