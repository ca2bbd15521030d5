using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// The health and metrics listener. Bound from configuration section <c>Health</c> (<c>--health-port</c>).
/// </summary>
public sealed record HealthOptions
{
    public const string Section = "Health";

    /// <summary>
    /// Port serving <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>; 0 turns the listener off. Default 0.
    /// </summary>
    public int Port { get; init; }

    /// <summary>
    /// Address to listen on (<c>--health-bind</c>). Default <c>127.0.0.1</c>: metrics and readiness stay on the
    /// machine. Set <c>0.0.0.0</c> where Kubernetes probes or Prometheus must reach it (the shipped manifests do).
    /// </summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>
    /// <c>/healthz</c> fails when the host's heartbeat loop has not ticked for this long. Default 10 s.
    /// </summary>
    public TimeSpan LivenessTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one readiness check may take before it counts as failed. Default 2 s.</summary>
    public TimeSpan CheckTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// The periodic <c>{prefix}/stats/{component}</c> message. Bound from configuration section <c>Stats</c>.
/// </summary>
public sealed record StatsOptions
{
    public const string Section = "Stats";

    /// <summary>Time between stats messages (and stats log lines); 0s turns them off. Default 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Also write each stats message as one human-readable log line. Default true.</summary>
    public bool Log { get; init; } = true;
}
