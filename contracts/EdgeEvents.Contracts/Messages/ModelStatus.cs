using MessagePack;

namespace EdgeEvents.Contracts.Messages;

/// <summary>The states of a detector's model rollout, published in <see cref="ModelStatus.State"/>.</summary>
public static class RolloutStates
{
    /// <summary>Fetching the requested model into the data folder.</summary>
    public const string Downloading = "downloading";
    /// <summary>Checking the downloaded model: loading it and running the gate on recent frames.</summary>
    public const string Verifying = "verifying";
    /// <summary>
    /// The requested model runs (in probation until <see cref="ModelStatus.ProbationUntil"/>, if set).
    /// </summary>
    public const string Active = "active";
    /// <summary>The requested model was worse than the current one (gate or probation); the current one runs.</summary>
    public const string RolledBack = "rolled_back";
    /// <summary>The requested model could not be used (download, checksum, load); the current one runs.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// A detector's model state, retained as JSON on <c>{prefix}/status/detector/{clientId}/model</c>; the hub's fleet
/// component carries each site's in <see cref="SiteStatus.Models"/>.
/// </summary>
/// <param name="State">One of <see cref="RolloutStates"/>.</param>
/// <param name="Version">The requested version this state is about.</param>
/// <param name="ActiveVersion">The version processing frames now.</param>
/// <param name="PreviousVersion">The version kept to roll back to, if any.</param>
/// <param name="Reason">Why it rolled back or failed.</param>
/// <param name="Agreement">The gate's agreement with the current model, once measured.</param>
[MessagePackObject]
public sealed record ModelStatus(
    [property: Key(0)] string State, [property: Key(1)] string Version, [property: Key(2)] string ActiveVersion,
    [property: Key(3)] string? PreviousVersion = null, [property: Key(4)] string? Reason = null,
    [property: Key(5)] double? Agreement = null, [property: Key(6)] DateTimeOffset? ProbationUntil = null)
{
    [Key(7)] public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}
