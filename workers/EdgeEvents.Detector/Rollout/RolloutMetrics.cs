using System.Diagnostics.Metrics;
using EdgeEvents.Pipeline.Observability;

namespace EdgeEvents.Detector.Rollout;

/// <summary>Rollout state changes on the <c>EdgeEvents</c> meter.</summary>
internal static class RolloutMetrics
{
    private static readonly Counter<long> Transitions = EdgeTelemetry.Meter.CreateCounter<long>(
        "edge.detector.model.rollouts", unit: "{transition}",
        description: "Model rollout state changes, by state (downloading, verifying, active, rolled_back, failed).");

    public static void Record(string state) => Transitions.Add(1, new KeyValuePair<string, object?>("state", state));
}
