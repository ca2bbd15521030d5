using MessagePack;

namespace EdgeEvents.Contracts.Messages;

/// <summary>Values of <see cref="SiteStatus.State"/>.</summary>
public static class SiteStates
{
    public const string Online = "online";
    /// <summary>The link says it is down, or nothing arrived from the site for <c>Fleet:SiteTimeout</c>.</summary>
    public const string Offline = "offline";
    /// <summary>Reachable, but at least one of its components is offline.</summary>
    public const string Degraded = "degraded";
}

/// <summary>Values of <see cref="SiteStatus.Link"/>.</summary>
public static class LinkStates
{
    public const string Up = "up";
    public const string Down = "down";
}

/// <summary>Components of a site by their retained availability (<c>{prefix}/status/{component}</c>).</summary>
[MessagePackObject]
public sealed record SiteComponents
{
    [Key(0)] public IReadOnlyList<string> Online { get; init; } = [];
    [Key(1)] public IReadOnlyList<string> Offline { get; init; } = [];
}

/// <summary>One camera of a site with its current object counts (from its retained scene).</summary>
[MessagePackObject]
public sealed record SiteCamera
{
    [Key(0)] public required string Camera { get; init; }
    [Key(1)] public IReadOnlyDictionary<string, int> Counts { get; init; } = new Dictionary<string, int>();
    /// <summary>When the counts were last updated (the scene's creation time).</summary>
    [Key(2)] public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>The hub's view of one site. Retained JSON on <c>fleet/sites/{site}</c>.</summary>
[MessagePackObject]
public sealed record SiteStatus : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Site { get; init; }
    /// <summary>One of <see cref="SiteStates"/>.</summary>
    [Key(4)] public required string State { get; init; }
    /// <summary>When the site entered <see cref="State"/>.</summary>
    [Key(5)] public DateTimeOffset Since { get; init; }
    /// <summary>When anything last arrived from the site; null if nothing ever did.</summary>
    [Key(6)] public DateTimeOffset? LastMessageAt { get; init; }
    /// <summary>
    /// One of <see cref="LinkStates"/>, from <c>sites/{site}/link</c>; null when the link does not report.
    /// </summary>
    [Key(7)] public string? Link { get; init; }
    [Key(8)] public SiteComponents Components { get; init; } = new();
    [Key(9)] public IReadOnlyList<SiteCamera> Cameras { get; init; } = [];
    [Key(10)] public int EventsLastMinute { get; init; }
    [Key(11)] public int ErrorsLastMinute { get; init; }
    /// <summary>
    /// Each detector's model rollout state by its client id, from the retained
    /// <c>{prefix}/status/detector/{clientId}/model</c>: which version runs, and how the last requested one fared.
    /// </summary>
    [Key(12)]
    public IReadOnlyDictionary<string, ModelStatus> Models { get; init; } = new Dictionary<string, ModelStatus>();
}

/// <summary>One line of the fleet summary.</summary>
[MessagePackObject]
public sealed record FleetSite
{
    [Key(0)] public required string Site { get; init; }
    [Key(1)] public required string State { get; init; }
    [Key(2)] public DateTimeOffset Since { get; init; }
}

/// <summary>All sites the hub knows. Retained JSON on <c>fleet/summary</c>.</summary>
[MessagePackObject]
public sealed record FleetSummary : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public int Online { get; init; }
    [Key(4)] public int Offline { get; init; }
    [Key(5)] public int Degraded { get; init; }
    [Key(6)] public IReadOnlyList<FleetSite> Sites { get; init; } = [];
}
