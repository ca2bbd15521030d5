using System.Collections.Frozen;
using System.Text.Json;
using EdgeEvents.Pipeline.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Dashboard;

/// <summary>
/// Serves the dashboard: the static page embedded in this assembly (<c>Dashboard/page/</c>: HTML, JS, CSS and the
/// vendored MQTT.js bundle) and <c>config.json</c>, which tells the page the broker's WebSocket URL (or the port of the
/// <see cref="HubRelay"/>), the prefix and whether to show the fleet.
/// The page itself talks to the broker; this server only hands out files.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private const string ResourcePrefix = "dashboard/";
    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".md"] = "text/markdown; charset=utf-8",
    }.ToFrozenDictionary();

    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The page's address, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public string Url { get; }

    public static async Task<DashboardServer> StartAsync(DashboardOptions options, ILogger logger, CancellationToken ct)
    {
        var files = LoadPage();
        // With a relay the browser reaches it on the host it loaded the page from: only the port is handed out.
        var broker = options.RelayPort is null ? options.BrokerWebSocket : null;
        var config = new { broker, relayPort = options.RelayPort, prefix = options.Prefix, fleet = options.Fleet };
        files["config.json"] = (JsonSerializer.SerializeToUtf8Bytes(config), "application/json");
        var app = WebListener.CreateBuilder(options.BindAddress, options.HttpPort, logger).Build();
        app.Run(context => ServeAsync(context, files));
        await app.StartAsync(ct);
        var host = options.BindAddress is "0.0.0.0" ? "127.0.0.1" : options.BindAddress;
        var server = new DashboardServer(app, $"http://{host}:{WebListener.BoundPort(app)}/");
        logger.LogInformation("Dashboard on {Url}, connecting browsers to {Broker}",
            server.Url, broker ?? $"its relay on port {options.RelayPort}");
        return server;
    }

    private static Dictionary<string, (byte[] Body, string ContentType)> LoadPage()
    {
        var assembly = typeof(DashboardServer).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        var pageResources = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal));
        foreach (var name in pageResources)
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[ResourcePrefix.Length..]] = (copy.ToArray(), ContentTypes[Path.GetExtension(name)]);
        }
        return files;
    }

    private static async Task ServeAsync(
        HttpContext context, Dictionary<string, (byte[] Body, string ContentType)> files)
    {
        var path = context.Request.Path.Value is "/" or null ? "index.html" : context.Request.Path.Value.TrimStart('/');
        if (!HttpMethods.IsGet(context.Request.Method) || !files.TryGetValue(path, out var file))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = file.ContentType;
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.Body.WriteAsync(file.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
    }
}
