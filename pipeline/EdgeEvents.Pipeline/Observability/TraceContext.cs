using System.Diagnostics;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// W3C trace context in message headers (MQTT 5 user properties, NATS headers): <c>traceparent</c> and
/// <c>tracestate</c>, as HTTP carries them, so any OpenTelemetry-aware consumer can continue the trace.
/// </summary>
public static class TraceContext
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    /// <summary>The remote parent a message's headers carry, or <c>default</c> when absent or malformed.</summary>
    public static ActivityContext Extract(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null || !headers.TryGetValue(TraceParent, out var traceParent)) return default;
        headers.TryGetValue(TraceState, out var traceState);
        return ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : default;
    }

    /// <summary>
    /// <paramref name="headers"/> plus the trace context of <paramref name="activity"/> (replacing any it carried);
    /// the headers unchanged when there is no activity or it does not use W3C ids.
    /// </summary>
    public static IReadOnlyDictionary<string, string>? Inject(Activity? activity,
        IReadOnlyDictionary<string, string>? headers)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C || activity.Id is not { } id) return headers;
        var result = headers is null ? new Dictionary<string, string>(2) : new Dictionary<string, string>(headers);
        result[TraceParent] = id;
        if (activity.TraceStateString is { Length: > 0 } state) result[TraceState] = state;
        else result.Remove(TraceState);
        return result;
    }
}
