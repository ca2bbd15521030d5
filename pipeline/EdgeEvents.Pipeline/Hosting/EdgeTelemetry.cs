using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EdgeEvents.Pipeline.Hosting;

/// <summary>The meter and activity sources of EdgeEvents. Instruments are created once here so names stay consistent.</summary>
public static class EdgeTelemetry
{
    public const string Name = "EdgeEvents";

    public static readonly Meter Meter = new(Name, "1.0");

    public static readonly Counter<long> Errors = Meter.CreateCounter<long>(
        "edge.errors", unit: "{error}", description: "Rejected inputs and failed operations, by component and kind.");

    public static readonly Counter<long> MessagesDropped = Meter.CreateCounter<long>(
        "edge.messages.dropped", unit: "{message}", description: "Messages dropped by a subscription's overload policy or while disconnected, by topic class and reason.");

    /// <summary>The activity source of one component (<c>EdgeEvents.detector</c>, …).</summary>
    public static ActivitySource Source(string component) => Sources.GetOrAdd(component, static c => new ActivitySource($"{Name}.{c}", "1.0"));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ActivitySource> Sources = new();
}
