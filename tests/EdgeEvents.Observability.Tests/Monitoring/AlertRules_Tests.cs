using Xunit.Abstractions;

namespace EdgeEvents.Observability.Tests.Monitoring;

public sealed class AlertRules_Tests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-rules-");

    [Fact]
    public async Task The_shipped_rules_pass_promtool_check_rules()
    {
        var (exit, text) = await Promtool.RunAsync(Promtool.MonitoringFolder, "check", "rules", Promtool.RulesFile);
        output.WriteLine(text);
        Assert.True(exit == 0, text);
        Assert.Contains("SUCCESS: 7 rules found", text);
    }

    [Fact]
    public async Task Promtool_unit_tests_fire_and_clear_every_alert_on_synthetic_series()
    {
        var (exit, text) = await Promtool.RunAsync(Promtool.MonitoringFolder, "test", "rules", Promtool.RulesTestFile);
        output.WriteLine(text);
        Assert.True(exit == 0, text);
        // Every alert of the rules file has a test group that expects it firing and, later, not.
        var tests = await File.ReadAllTextAsync(Promtool.RulesTestFile);
        foreach (var alert in AlertNames(await File.ReadAllTextAsync(Promtool.RulesFile)))
        {
            var occurrences = tests.Split($"alertname: {alert}\n").Length - 1;
            Assert.True(occurrences >= 3,
                $"{alert}: {occurrences} evaluations in the unit tests; want before, firing and cleared");
        }
    }

    [Fact]
    public async Task The_PrometheusRule_manifest_carries_exactly_the_rules_file()
    {
        var manifest = await File.ReadAllLinesAsync(
            Path.Combine(Promtool.MonitoringFolder, "..", "components", "monitoring", "prometheusrule.yaml"));
        var spec = manifest.SkipWhile(l => l != "spec:").Skip(1).Select(l => l.Length >= 2 ? l[2..] : l);
        Assert.Equal(await File.ReadAllLinesAsync(Promtool.RulesFile), spec);
    }

    [Fact]
    public async Task A_typo_in_a_rule_is_an_error_naming_the_file_and_the_problem()
    {
        var rules = await File.ReadAllTextAsync(Promtool.RulesFile);
        var broken = Path.Combine(_folder.FullName, "typo.rules.yml");
        await File.WriteAllTextAsync(broken,
            rules.Replace("rate(edge_answers_total[10m])", "rate(edge_answers_total[10m]", StringComparison.Ordinal));
        var (exit, text) = await Promtool.RunAsync(_folder.FullName, "check", "rules", broken);
        output.WriteLine(text);
        Assert.NotEqual(0, exit);
        Assert.Contains("typo.rules.yml", text);
        Assert.Contains("unclosed left parenthesis", text);
    }

    internal static IEnumerable<string> AlertNames(string rules) =>
        rules.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("- alert: ", StringComparison.Ordinal))
            .Select(l => l["- alert: ".Length..]);

    public void Dispose() => _folder.Delete(recursive: true);
}
