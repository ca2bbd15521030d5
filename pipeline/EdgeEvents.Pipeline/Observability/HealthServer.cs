using EdgeEvents.Pipeline.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// A minimal Kestrel listener on <see cref="HealthOptions.Port"/> beside the worker's generic host, serving
/// <c>/healthz</c> (liveness), <c>/readyz</c> (readiness; 503 with the failing checks in the body) and <c>/metrics</c>
/// (Prometheus text format from the host's meter provider). Off when the port is 0.
/// </summary>
internal sealed class HealthServer(
    IOptions<HealthOptions> options, ReadinessProbe readiness, Heartbeat heartbeat, IServiceProvider services,
    ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var health = options.Value;
        if (health.Port == 0) return;
        // The worker's host alone handles Ctrl-C/SIGTERM: it stops this listener from StopAsync.
        var builder = WebListener.CreateBuilder(health.BindAddress, health.Port, loggers.CreateLogger<HealthServer>());
        _app = builder.Build();
        // The exporter lives in the worker host's meter provider, not in this listener's services.
        var meterProvider = services.GetRequiredService<MeterProvider>();
        _app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, path: "/metrics",
            configureBranchedPipeline: null, optionsName: null);
        _app.Run(HandleAsync);
        await _app.StartAsync(cancellationToken);
        loggers.CreateLogger<HealthServer>().LogInformation(
            "Serving /healthz, /readyz and /metrics on {Address}:{Port}", health.BindAddress, health.Port);
    }

    private async Task HandleAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                var alive = heartbeat.IsAlive;
                context.Response.StatusCode = alive ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync(alive
                    ? "alive\n"
                    : $"not alive: host loop last ticked {heartbeat.SinceLastBeat.TotalSeconds:0.#} s ago\n",
                    context.RequestAborted);
                break;
            case "/readyz":
                var report = await readiness.CheckAsync(context.RequestAborted);
                context.Response.StatusCode =
                    report.IsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync(report.ToString(), context.RequestAborted);
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await context.Response.WriteAsync("not found: use /healthz, /readyz or /metrics\n",
                    context.RequestAborted);
                break;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
