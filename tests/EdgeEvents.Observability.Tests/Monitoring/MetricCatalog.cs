using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Testing;

namespace EdgeEvents.Observability.Tests.Monitoring;

/// <summary>
/// The metric names README documents, and those the code creates on the <c>EdgeEvents</c> meter, in Prometheus form.
/// </summary>
internal static partial class MetricCatalog
{
    /// <summary>Every <c>edge_…</c> name in the first column of README's Observability metric table.</summary>
    public static SortedSet<string> Documented()
    {
        var readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md"));
        var section = readme[readme.IndexOf("\n## Observability", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        return new(section.Split('\n').Where(l => l.StartsWith("| `edge_", StringComparison.Ordinal))
            .SelectMany(l => Name().Matches(l.Split('|')[1]).Select(m => m.Groups[1].Value)), StringComparer.Ordinal);
    }

    /// <summary>
    /// Every instrument of the <c>EdgeEvents</c> meter in the EdgeEvents assemblies, named as the Prometheus exporter
    /// names it. Instruments live in static fields: their type initialisers are run first so none is missed.
    /// </summary>
    public static SortedSet<string> Created()
    {
        var assemblies = new[]
        {
            typeof(EdgeTelemetry).Assembly, typeof(Detector.DetectorWorker).Assembly,
            typeof(Scene.SceneWorker).Assembly, typeof(Llm.LlmWorker).Assembly,
        };
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
            if (type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Any(f => typeof(Instrument).IsAssignableFrom(f.FieldType) || f.FieldType == typeof(GaugeRegistry)))
                RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == EdgeTelemetry.Name) names.Add(PrometheusName(instrument));
        };
        listener.Start();
        return names;
    }

    /// <summary>
    /// The OpenTelemetry Prometheus exporter's name: dots to underscores, the unit appended (ms → milliseconds,
    /// /s → per_second), counters _total.
    /// </summary>
    public static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = Regex.Replace(instrument.Unit ?? "", @"\{[^}]*\}", "") switch
        {
            "ms" => "milliseconds",
            "/s" => "per_second",
            _ => "",
        };
        if (unit.Length > 0 && !name.EndsWith(unit, StringComparison.Ordinal)) name += "_" + unit;
        var counter = instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() is var t
            && (t == typeof(Counter<>) || t == typeof(ObservableCounter<>));
        return counter ? name + "_total" : name;
    }

    /// <summary>
    /// Metric names in a <c>/metrics</c> text (from its <c># TYPE</c> lines: histograms by their base name).
    /// </summary>
    public static SortedSet<string> Served(string metricsText) =>
        new(metricsText.Split('\n')
            .Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[2]), StringComparer.Ordinal);

    [GeneratedRegex(@"`(edge_[a-z_]+)`")]
    private static partial Regex Name();
}
