using EdgeEvents.Testing;

namespace EdgeEvents.Bench.Tests;

public sealed class LoadBench_Tests
{
    /// <summary>
    /// The CI smoke run of the load benchmark: the real bench process with <c>--quick</c> (all three transports, 1 and 4
    /// cameras, real detector, scene and llm processes). Asserts only that it completes and that its checks pass;
    /// the figures themselves are for the README, not for a test.
    /// </summary>
    [Fact]
    public async Task Quick_load_run_completes_on_every_transport_and_its_scaling_checks_pass()
    {
        var output = Directory.CreateTempSubdirectory("edge-load-test-").FullName;
        await using var bench = CliProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "EdgeEvents.Bench.dll"), "load", "--quick", "--out", output]);

        var exitCode = await bench.WaitForExitAsync(TimeSpan.FromMinutes(5));

        var stdout = string.Join('\n', bench.OutputSoFar);
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{stdout}\n{bench.StandardError}");
        var checks = bench.OutputSoFar.Where(l => l.StartsWith("PASS ", StringComparison.Ordinal) || l.StartsWith("FAIL ", StringComparison.Ordinal)).ToList();
        Assert.Equal(9, checks.Count); // (a), (b), (c) for embedded, mosquitto and nats
        Assert.All(checks, c => Assert.StartsWith("PASS ", c));
        foreach (var transport in new[] { "embedded", "mosquitto", "nats" })
            Assert.Equal(3, checks.Count(c => c.Contains($"[{transport}]", StringComparison.Ordinal)));
        Assert.True(File.Exists(Path.Combine(output, "load.csv")) && File.Exists(Path.Combine(output, "load.png")), stdout);
        Directory.Delete(output, recursive: true);
    }
}
