namespace EdgeEvents.Detector.Rollout;

/// <summary>The states of a rollout, published in <see cref="ModelStatus.State"/>.</summary>
public static class RolloutStates
{
    /// <summary>Fetching the requested model into the data folder.</summary>
    public const string Downloading = "downloading";
    /// <summary>Checking the downloaded model: loading it and running the gate on recent frames.</summary>
    public const string Verifying = "verifying";
    /// <summary>The requested model runs (in probation until <see cref="ModelStatus.ProbationUntil"/>, if set).</summary>
    public const string Active = "active";
    /// <summary>The requested model was worse than the current one (gate or probation); the current one runs.</summary>
    public const string RolledBack = "rolled_back";
    /// <summary>The requested model could not be used (download, checksum, load); the current one runs.</summary>
    public const string Failed = "failed";
}

/// <summary>A detector's model state, retained as JSON on <c>{prefix}/status/detector/{clientId}/model</c>.</summary>
/// <param name="State">One of <see cref="RolloutStates"/>.</param>
/// <param name="Version">The requested version this state is about.</param>
/// <param name="ActiveVersion">The version processing frames now.</param>
/// <param name="PreviousVersion">The version kept to roll back to, if any.</param>
/// <param name="Reason">Why it rolled back or failed.</param>
/// <param name="Agreement">The gate's agreement with the current model, once measured.</param>
public sealed record ModelStatus(
    string State, string Version, string ActiveVersion, string? PreviousVersion = null, string? Reason = null,
    double? Agreement = null, DateTimeOffset? ProbationUntil = null)
{
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}
