using System.Text.RegularExpressions;
using EdgeEvents.Testing;

namespace EdgeEvents.Observability.Tests.Monitoring;

/// <summary>
/// The real <c>edge-events demo</c> (camera, detector, scene, LLM worker on the embedded broker) with <c>/metrics</c>
/// on a free loopback port and each component's outbox on, running until a question has been answered.
/// </summary>
public sealed partial class RunningPipeline : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-pipeline-");
    private CliProcess? _demo;

    public int HealthPort { get; } = FreePort.Next();
    public string BrokerUrl { get; private set; } = "";
    public string MetricsUrl => $"http://127.0.0.1:{HealthPort}/metrics";

    public async Task InitializeAsync()
    {
        _demo = CliProcess.Start("dotnet",
            [
                CliProcess.EdgeEventsDll, "demo", "--port", "0", "--ws-port", "0", "--http-port", "0",
                "--health-port", $"{HealthPort}",
                "--model", TestData.Model("yolov8n_int8_dynamic.onnx"),
                "--llm-model", TestData.Model("stories260K.gguf"),
            ],
            new Dictionary<string, string>
            {
                ["EDGEEVENTS_Health__BindAddress"] = "127.0.0.1",
                ["EDGEEVENTS_Transport__Outbox__Path"] = Path.Combine(_folder.FullName, "{component}.outbox.db"),
            });
        var header = _demo.WaitForLine(l => l.Contains("embedded MQTT broker on", StringComparison.Ordinal), Timeout);
        BrokerUrl = BrokerLine().Match(header).Groups[1].Value;
        // The demo asks its question once scene events flow; an answer means every worker has run.
        _demo.WaitForLine(l => l.Contains(" answer to demo ", StringComparison.Ordinal), Timeout);
    }

    public async Task<string> ScrapeAsync()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(MetricsUrl);
    }

    public async Task DisposeAsync()
    {
        if (_demo is not null)
        {
            if (!_demo.HasExited) _demo.Interrupt();
            try { await _demo.WaitForExitAsync(TimeSpan.FromSeconds(30)); } catch (OperationCanceledException) { }
            await _demo.DisposeAsync();
        }
        _folder.Delete(recursive: true);
    }

    [GeneratedRegex(@"embedded MQTT broker on (mqtt://\S+)")]
    private static partial Regex BrokerLine();
}
