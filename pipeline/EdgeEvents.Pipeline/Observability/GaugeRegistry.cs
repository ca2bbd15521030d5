using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// One observable gauge fed by any number of registered sources (a queue, an outbox, a connection), each with its
/// own tags. A source reports until its registration is disposed, so short-lived queues leave no stale series.
/// </summary>
public sealed class GaugeRegistry
{
    private readonly ConcurrentDictionary<Registration, byte> _sources = new();

    public GaugeRegistry(Meter meter, string name, string unit, string description)
    {
        Name = name;
        meter.CreateObservableGauge(name, Observe, unit, description);
    }

    public string Name { get; }

    /// <summary>
    /// Reports <paramref name="read"/> with <paramref name="tags"/> at every collection until disposed.
    /// </summary>
    public IDisposable Observe(Func<long> read, in TagList tags)
    {
        var registration = new Registration(this, read, [.. tags]);
        _sources[registration] = 0;
        return registration;
    }

    private IEnumerable<Measurement<long>> Observe()
    {
        foreach (var source in _sources.Keys)
        {
            long value;
            // A source being torn down may throw (e.g. ObjectDisposedException);
            // skip it rather than lose the whole gauge.
            try { value = source.Read(); }
            catch (Exception) { continue; }
            yield return new Measurement<long>(value, source.Tags);
        }
    }

    private sealed class Registration(GaugeRegistry owner, Func<long> read, KeyValuePair<string, object?>[] tags)
        : IDisposable
    {
        public Func<long> Read { get; } = read;
        public KeyValuePair<string, object?>[] Tags { get; } = tags;
        public void Dispose() => owner._sources.TryRemove(this, out _);
    }
}
