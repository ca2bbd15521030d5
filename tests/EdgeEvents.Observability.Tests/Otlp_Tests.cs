using EdgeEvents.Broker;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Observability.Tests;

public sealed class Otlp_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task With_the_standard_OTEL_variables_set_traces_metrics_and_logs_reach_the_collector()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var collector = await OtlpCollector.StartAsync();
        var variables = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
        };
        // The service defaults read the variables while the host is built; tests in this assembly run one at a time.
        foreach (var (name, value) in variables) Environment.SetEnvironmentVariable(name, value);
        ServiceHost host;
        try
        {
            host = await ServiceHost.StartAsync("otlp-detector", broker.Url);
        }
        finally
        {
            foreach (var name in variables.Keys) Environment.SetEnvironmentVariable(name, null);
        }
        await using (host)
        {
            using (EdgeTelemetry.StartStage("otlp-detector", "inference")) { }
            host.Host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("otlp-test")
                .LogWarning("exported to the collector");

            await collector.WaitForAsync("/v1/traces", Timeout);
            await collector.WaitForAsync("/v1/metrics", Timeout);
            await collector.WaitForAsync("/v1/logs", Timeout);
        }
    }
}
