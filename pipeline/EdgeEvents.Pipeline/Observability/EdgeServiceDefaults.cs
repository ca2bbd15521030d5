using System.Collections;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

// In the hosting namespace, as eShop's ServiceDefaults do, so every command finds it on its builder without a using.
namespace Microsoft.Extensions.Hosting;

public static class EdgeServiceDefaults
{
    /// <summary>
    /// What every EdgeEvents command gets, wired once (HostedCommand calls it):
    /// <list type="bullet">
    /// <item>OpenTelemetry tracing of the <c>EdgeEvents.*</c> activity sources and metrics of the <c>EdgeEvents</c> and
    /// <c>System.Runtime</c> meters, resource <c>service.name</c> = <paramref name="component"/>.</item>
    /// <item>OTLP export of traces, metrics and logs when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the other standard
    /// <c>OTEL_*</c> variables apply too: protocol, headers, sampler).</item>
    /// <item><c>/healthz</c>, <c>/readyz</c> and Prometheus <c>/metrics</c> on <c>Health:Port</c> (0 = off).</item>
    /// <item>A <c>{prefix}/stats/{component}</c> message and log line every <c>Stats:Interval</c> (0s = off).</item>
    /// </list>
    /// Tracing stays on without an exporter so trace context still flows through this component to the next.
    /// </summary>
    public static HostApplicationBuilder AddEdgeServiceDefaults(this HostApplicationBuilder builder, string component)
    {
        var services = builder.Services;
        // The host reads only EDGEEVENTS_-prefixed variables;
        // OpenTelemetry reads its standard OTEL_* ones from configuration.
        builder.Configuration.AddInMemoryCollection(Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Where(e => e.Key is string key && key.StartsWith("OTEL_", StringComparison.Ordinal))
            .Select(e => KeyValuePair.Create((string)e.Key, e.Value?.ToString())));
        services.AddEdgeOptions<HealthOptions>(builder.Configuration, HealthOptions.Section);
        services.AddEdgeOptions<StatsOptions>(builder.Configuration, StatsOptions.Section);
        services.AddEdgeOptions<TelemetryOptions>(builder.Configuration, TelemetryOptions.Section);
        var stats = builder.Configuration.GetSection(StatsOptions.Section).Get<StatsOptions>() ?? new StatsOptions();
        var telemetryOptions = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>();
        CameraLabels.Limit = (telemetryOptions ?? new TelemetryOptions()).MaxCameraLabels;

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r =>
                r.AddService(component, serviceNamespace: "edgeevents", serviceInstanceId: Environment.MachineName))
            .WithTracing(tracing => tracing.AddSource($"{EdgeTelemetry.Name}.*"))
            .WithMetrics(metrics =>
            {
                // The SDK preallocates every stream for its cardinality limit: the default 2000 costs ~16 MB of live
                // heap here, 256 about 2 MB. 256 label sets per metric covers e.g. 16 cameras × 16 labels; beyond that
                // measurements go to the otel_metric_overflow="true" series, so totals stay right. Camera ids are
                // bounded before that (CameraLabels, Telemetry:MaxCameraLabels).
                metrics.AddMeter(EdgeTelemetry.Name, "System.Runtime").AddPrometheusExporter()
                    .AddView(_ =>
                        new MetricStreamConfiguration { CardinalityLimit = EdgeTelemetry.MaxSeriesPerMetric });
                if (stats.Interval > TimeSpan.Zero)
                    metrics.AddReader(sp => sp.GetRequiredService<StatsCollector>().Reader);
            });
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            telemetry.UseOtlpExporter();

        services.AddSingleton<ReadinessProbe>();
        services.AddSingleton<Heartbeat>();
        services.AddHostedService(sp => sp.GetRequiredService<Heartbeat>());
        services.AddHostedService<HealthServer>();
        if (stats.Interval > TimeSpan.Zero)
        {
            services.AddSingleton<StatsCollector>();
            services.AddHostedService<StatsPublisher>();
        }
        return builder;
    }
}
