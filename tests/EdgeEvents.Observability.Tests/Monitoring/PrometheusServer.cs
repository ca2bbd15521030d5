using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EdgeEvents.Testing;

namespace EdgeEvents.Observability.Tests.Monitoring;

/// <summary>
/// A real Prometheus (Debian's package) on a free loopback port with temporary storage, scraping one target every
/// second and evaluating the shipped alert rules.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly CliProcess _process;
    private readonly DirectoryInfo _folder;
    private readonly HttpClient _http;

    private PrometheusServer(CliProcess process, DirectoryInfo folder, int port)
    {
        _process = process;
        _folder = folder;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public static async Task<PrometheusServer> StartAsync(string target, TimeSpan timeout)
    {
        var folder = Directory.CreateTempSubdirectory("edge-prometheus-");
        var config = Path.Combine(folder.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {Promtool.RulesFile}
            scrape_configs:
              - job_name: edge-events
                static_configs:
                  - targets: ["{target}"]
            """);
        var port = FreePort.Next();
        var process = CliProcess.Start("prometheus",
        [
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(folder.FullName, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
        ]);
        var server = new PrometheusServer(process, folder, port);
        await server.WaitUntilAsync(async () => (await server._http.GetAsync("/-/ready")).IsSuccessStatusCode,
            timeout, "Prometheus ready");
        return server;
    }

    public string Log => _process.StandardError;

    /// <summary>An instant query through the HTTP API: each series' labels and value.</summary>
    public async Task<List<(JsonObject Labels, double Value)>> QueryAsync(string promql)
    {
        var response = await _http.GetFromJsonAsync<JsonNode>($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        Assert.Equal("success", (string?)response!["status"]);
        return response["data"]!["result"]!.AsArray()
            .Select(r => (r!["metric"]!.AsObject(),
                double.Parse((string)r["value"]![1]!, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>The loaded rules: name and health (ok, err, unknown) of each.</summary>
    public async Task<List<(string Name, string Health)>> RulesAsync()
    {
        var response = await _http.GetFromJsonAsync<JsonNode>("/api/v1/rules");
        return response!["data"]!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray())
            .Select(r => ((string)r!["name"]!, (string)r["health"]!)).ToList();
    }

    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what}: not within {timeout.TotalSeconds:0} s.\nprometheus log:\n{Log}");
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        _folder.Delete(recursive: true);
    }
}
