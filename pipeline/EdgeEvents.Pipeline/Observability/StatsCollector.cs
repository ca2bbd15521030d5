using EdgeEvents.Pipeline.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// Turns the EdgeEvents meter into the flat key/value map of a stats message. It is one more reader of the host's
/// meter provider (delta temporality), collected on the stats publisher's schedule, so the SDK does the aggregation.
/// Keys are the instrument name without <c>edge.</c>, dots as underscores, <c>_ms</c> for millisecond histograms,
/// then the tag values that split it: <c>frames_received</c>, <c>frames_received.cam1</c>,
/// <c>frames_dropped.cam1.stale</c>, <c>stage_duration_ms.inference</c>, <c>queue_depth.edge/frames/+</c>.
/// Counters are totals since start (with and without their split), gauges the last value, histograms the mean over the
/// last interval (absent when nothing was recorded).
/// </summary>
public sealed class StatsCollector
{
    // Tags that split a key, in this order; others (messaging.system, filter) are summed over.
    private static readonly string[] Dimensions =
    [
        EdgeTelemetry.Tags.Camera, EdgeTelemetry.Tags.Stage, EdgeTelemetry.Tags.Queue, EdgeTelemetry.Tags.Kind,
        EdgeTelemetry.Tags.Type,
        EdgeTelemetry.Tags.Status, EdgeTelemetry.Tags.Reason, EdgeTelemetry.Tags.Label, EdgeTelemetry.Tags.Topic,
    ];

    private readonly Lock _lock = new();
    // Per component ("" for measurements without a component tag): running totals, last gauge values, interval means.
    private readonly Dictionary<string, Dictionary<string, double>> _totals = [];
    private Dictionary<string, Dictionary<string, double>> _latest = [];

    public StatsCollector() => Reader = new BaseExportingMetricReader(new Exporter(this))
    {
        TemporalityPreference = MetricReaderTemporalityPreference.Delta,
    };

    /// <summary>The reader to add to the meter provider.</summary>
    public MetricReader Reader { get; }

    /// <summary>Collects now; afterwards <see cref="Snapshot"/> reflects everything recorded so far.</summary>
    public void Collect() => Reader.Collect();

    /// <summary>The values of one component, plus those not tied to any component.</summary>
    public Dictionary<string, double> Snapshot(string component)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var source in new[] { _totals, _latest })
                foreach (var owner in new[] { "", component })
                    if (source.TryGetValue(owner, out var map))
                        foreach (var (key, value) in map) values[key] = value;
        }
        return values;
    }

    private void Export(in Batch<Metric> batch)
    {
        var latest = new Dictionary<string, Dictionary<string, double>>();
        lock (_lock)
        {
            foreach (var metric in batch)
            {
                if (metric.MeterName != EdgeTelemetry.Name) continue;
                var name = BaseKey(metric);
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    var (component, split) = Split(point);
                    var key = split.Length == 0 ? name : $"{name}.{split}";
                    switch (metric.MetricType)
                    {
                        case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                            AddTotal(component, name, key, point.GetSumLong());
                            break;
                        case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                            AddTotal(component, name, key, point.GetSumDouble());
                            break;
                        case MetricType.LongGauge:
                            Set(latest, component, key, point.GetGaugeLastValueLong(), add: false);
                            if (key != name) Set(latest, component, name, point.GetGaugeLastValueLong(), add: true);
                            break;
                        case MetricType.DoubleGauge:
                            Set(latest, component, key, point.GetGaugeLastValueDouble(), add: false);
                            break;
                        case MetricType.Histogram when point.GetHistogramCount() > 0:
                            Set(latest, component, key, point.GetHistogramSum() / point.GetHistogramCount(),
                                add: false);
                            break;
                    }
                }
            }
            _latest = latest;
        }
    }

    private void AddTotal(string component, string name, string key, double delta)
    {
        Set(_totals, component, key, delta, add: true);
        if (key != name) Set(_totals, component, name, delta, add: true);
    }

    private static void Set(Dictionary<string, Dictionary<string, double>> target, string component, string key,
        double value, bool add)
    {
        if (!target.TryGetValue(component, out var map))
            target[component] = map = new Dictionary<string, double>(StringComparer.Ordinal);
        map[key] = add && map.TryGetValue(key, out var current) ? current + value : value;
    }

    private static string BaseKey(Metric metric)
    {
        var name = metric.Name.StartsWith("edge.", StringComparison.Ordinal) ? metric.Name[5..] : metric.Name;
        return name.Replace('.', '_') + (metric.Unit == "ms" ? "_ms" : "");
    }

    private static (string Component, string Split) Split(in MetricPoint point)
    {
        var component = "";
        var values = new string?[Dimensions.Length];
        foreach (var tag in point.Tags)
        {
            if (tag.Key == EdgeTelemetry.Tags.Component) component = tag.Value?.ToString() ?? "";
            else if (Array.IndexOf(Dimensions, tag.Key) is var i and >= 0) values[i] = tag.Value?.ToString();
        }
        return (component, string.Join('.', values.Where(v => !string.IsNullOrEmpty(v))));
    }

    private sealed class Exporter(StatsCollector owner) : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch)
        {
            owner.Export(batch);
            return ExportResult.Success;
        }
    }
}
