using System.Collections.Concurrent;
using System.Net;
using EdgeEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace EdgeEvents.Observability.Tests;

/// <summary>
/// The receiving end of OTLP over HTTP (protobuf) on a loopback port: accepts every export and remembers which
/// signal paths (<c>/v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>) received how many non-empty bodies.
/// </summary>
internal sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _exports = new();

    private OtlpCollector(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        _app = builder.Build();
        _app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (body.Length > 0) _exports.AddOrUpdate(context.Request.Path.Value ?? "", 1, (_, n) => n + 1);
            context.Response.StatusCode = StatusCodes.Status200OK;
        });
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static async Task<OtlpCollector> StartAsync()
    {
        var collector = new OtlpCollector(FreePort.Next());
        await collector._app.StartAsync();
        return collector;
    }

    /// <summary>Waits until <paramref name="path"/> has received an export; fails listing what did arrive.</summary>
    public async Task WaitForAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_exports.ContainsKey(path))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"No OTLP export on {path} within {timeout.TotalSeconds:0.#} s; received: " +
                    string.Join(", ", _exports.Select(e => $"{e.Key} ×{e.Value}")));
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
