namespace EdgeEvents.Bridge;

/// <summary>
/// Lets at most one snapshot per camera through per interval (the first one after the interval has passed), so the
/// WAN carries a fresh picture of each camera, not the detector's full snapshot rate. One pump calls it: not
/// thread-safe.
/// </summary>
public sealed class SnapshotThrottle(TimeSpan interval, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Dictionary<string, long> _lastSent = new(StringComparer.Ordinal);

    public bool Allow(string camera)
    {
        var now = _clock.GetTimestamp();
        if (_lastSent.TryGetValue(camera, out var last) && _clock.GetElapsedTime(last, now) < interval) return false;
        _lastSent[camera] = now;
        return true;
    }
}
