using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace EdgeEvents.Observability.Tests.Monitoring;

/// <summary>
/// Grafana cannot run here, so the dashboard is checked without it: importable shape, the data source as a variable,
/// and every PromQL expression parsed by promtool (written into a generated rules file) so a typo fails.
/// </summary>
public sealed partial class GrafanaDashboard_Tests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-dashboard-");

    /// <summary>
    /// What Grafana substitutes before querying: its interval macros and the dashboard's own variables.
    /// </summary>
    private static readonly Dictionary<string, string> Substitutions = new()
    {
        ["$__rate_interval"] = "5m", ["$__interval"] = "1m", ["$__range"] = "1h", ["$component"] = ".*",
        ["$camera"] = ".*",
    };

    [Fact]
    public async Task Every_expression_in_the_dashboard_passes_promtool()
    {
        var dashboard = await LoadAsync(Promtool.DashboardFile);
        var expressions = Expressions(dashboard).ToList();
        var (exit, text) = await CheckAsync(expressions);
        output.WriteLine($"{expressions.Count} expressions from {Panels(dashboard).Count()} panels\n{text}");
        Assert.True(exit == 0, text);
        Assert.Contains($"SUCCESS: {expressions.Count} rules found", text);
    }

    [Fact]
    public async Task The_dashboard_is_importable_with_the_data_source_as_a_variable_and_covers_the_pipeline()
    {
        var dashboard = await LoadAsync(Promtool.DashboardFile);
        Assert.Equal("edge-events", (string?)dashboard["uid"]);
        Assert.False(string.IsNullOrEmpty((string?)dashboard["title"]));
        Assert.True((int?)dashboard["schemaVersion"] > 30);
        var variables = dashboard["templating"]!["list"]!.AsArray()
            .ToDictionary(v => (string)v!["name"]!, v => (string)v!["type"]!);
        Assert.Equal("datasource", variables["DS_PROMETHEUS"]);
        foreach (var panel in Panels(dashboard))
        {
            Assert.Equal("${DS_PROMETHEUS}", (string?)panel["datasource"]?["uid"]);
            foreach (var target in panel["targets"]!.AsArray())
            {
                Assert.Equal("${DS_PROMETHEUS}", (string?)target!["datasource"]?["uid"]);
                // Every $variable is one of the dashboard's or a Grafana macro the check above substitutes.
                foreach (Match used in Variable().Matches((string)target["expr"]!))
                    Assert.True(Substitutions.ContainsKey(used.Value) &&
                        (used.Value.StartsWith("$__", StringComparison.Ordinal) ||
                            variables.ContainsKey(used.Value[1..])),
                        $"{panel["title"]}: unknown variable {used.Value}");
            }
        }
        var all = string.Join("\n", Expressions(dashboard));
        foreach (var metric in new[]
                 {
                     "edge_frames_processed_total", "edge_frames_dropped_total",
                     "edge_stage_duration_milliseconds_bucket", "edge_latency_capture_to_detection_milliseconds_bucket",
                     "edge_answers_total", "edge_latency_question_to_answer_milliseconds_bucket",
                     "edge_errors_total", "edge_outbox_size", "edge_broker_connected",
                 })
            Assert.Contains(metric, all);
    }

    [Fact]
    public async Task A_typo_in_a_dashboard_expression_fails_the_check()
    {
        var dashboard = await LoadAsync(Promtool.DashboardFile);
        var expressions = Expressions(dashboard)
            .Append("sum by (camera) (rate(edge_frames_processed_total[$__rate_interval])")
            .ToList();
        var (exit, text) = await CheckAsync(expressions);
        output.WriteLine(text);
        Assert.NotEqual(0, exit);
        Assert.Contains("unclosed left parenthesis", text);
    }

    private static async Task<JsonNode> LoadAsync(string path) => JsonNode.Parse(await File.ReadAllTextAsync(path))!;

    private static IEnumerable<JsonNode> Panels(JsonNode dashboard) =>
        dashboard["panels"]!.AsArray().Select(p => p!).Where(p => (string?)p["type"] != "row");

    private static IEnumerable<string> Expressions(JsonNode dashboard) =>
        Panels(dashboard).SelectMany(p => p["targets"]!.AsArray()).Select(t => (string)t!["expr"]!);

    /// <summary>
    /// Writes the expressions, variables substituted, as recording rules and runs <c>promtool check rules</c>.
    /// </summary>
    private async Task<(int, string)> CheckAsync(IEnumerable<string> expressions)
    {
        var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        var n = 0;
        foreach (var expression in expressions)
        {
            var promql = Substitutions.Aggregate(expression,
                (e, s) => e.Replace(s.Key, s.Value, StringComparison.Ordinal));
            var quoted = promql.Replace("'", "''", StringComparison.Ordinal);
            rules.Append($"      - record: dashboard:panel_{++n}\n        expr: '{quoted}'\n");
        }
        var file = Path.Combine(_folder.FullName, "dashboard.rules.yml");
        await File.WriteAllTextAsync(file, rules.ToString());
        return await Promtool.RunAsync(_folder.FullName, "check", "rules", file);
    }

    [GeneratedRegex(@"\$\{?\w+")]
    private static partial Regex Variable();

    public void Dispose() => _folder.Delete(recursive: true);
}
