using System.Collections.Concurrent;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// The <c>camera</c> label of EdgeEvents metrics, bounded: per component the first
/// <see cref="TelemetryOptions.MaxCameraLabels"/> camera ids keep their names and every later one is reported as
/// <see cref="Other"/>, so a flood of made-up camera ids costs one series instead of pushing real cameras into
/// OpenTelemetry's overflow series. Totals stay right; only the later cameras' names are lost (logs and error events
/// still carry them).
/// </summary>
public static class CameraLabels
{
    public const string Other = "other";

    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> Known =
        new(StringComparer.Ordinal);
    private static int _limit = new TelemetryOptions().MaxCameraLabels;

    /// <summary>Set once at start from <see cref="TelemetryOptions.MaxCameraLabels"/>.</summary>
    public static int Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, value);
    }

    /// <summary>The label to record <paramref name="camera"/> under for <paramref name="component"/>.</summary>
    public static string Of(string component, string camera)
    {
        var known = Known.GetOrAdd(component, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
        if (known.ContainsKey(camera)) return camera;
        lock (known)
        {
            if (known.Count >= Limit) return Other;
            known.TryAdd(camera, 0);
            return camera;
        }
    }
}
