using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Pipeline.Hosting;

/// <summary>
/// A minimal Kestrel server beside a component (health endpoints, the broker's WebSocket listener, the dashboard page):
/// one listener on an address and port (0 = a free one, see <see cref="BoundPort"/>), HTTPS when given a certificate,
/// only warnings forwarded to the component's log, and no Ctrl-C handling of its own: whoever starts it stops it.
/// </summary>
public static class WebListener
{
    public static WebApplicationBuilder CreateBuilder(string bindAddress, int port, ILogger logger,
        X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Parse(bindAddress), port, listen =>
            {
                if (certificate is not null) listen.UseHttps(certificate);
            });
        });
        // A request every few seconds is not news: only Kestrel's warnings reach the component's log.
        builder.Logging.AddProvider(new ForwardingLoggerProvider(logger)).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, OwnerStopsLifetime>();
        return builder;
    }

    /// <summary>The port a started application listens on (the one Kestrel picked when asked for 0).</summary>
    public static int BoundPort(WebApplication app) =>
        new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
            .Addresses.Single()).Port;

    private sealed class ForwardingLoggerProvider(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void Dispose() { }
    }

    private sealed class OwnerStopsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
