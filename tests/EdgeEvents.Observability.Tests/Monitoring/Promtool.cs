using System.Diagnostics;
using EdgeEvents.Testing;

namespace EdgeEvents.Observability.Tests.Monitoring;

/// <summary>
/// Debian's <c>promtool</c> (package <c>prometheus</c>, installed by <c>.ci/run</c>) and the monitoring
/// files it checks.
/// </summary>
internal static class Promtool
{
    public static string MonitoringFolder => Path.Combine(TestData.RepositoryRoot, "manifests", "monitoring");
    public static string RulesFile => Path.Combine(MonitoringFolder, "edge-events.rules.yml");
    public static string RulesTestFile => Path.Combine(MonitoringFolder, "edge-events.rules.test.yml");
    public static string DashboardFile => Path.Combine(MonitoringFolder, "edge-events.dashboard.json");

    /// <summary>
    /// Runs <c>promtool args…</c> in <paramref name="workingDirectory"/>; exit code and everything it printed.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("promtool")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ??
            throw new InvalidOperationException("promtool did not start (apt-get install prometheus).");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
