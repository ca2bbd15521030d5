using EdgeEvents.Testing;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Fleet.Tests;

/// <summary>The fleet component in its own host at the hub, as <c>edge-events fleet</c> builds it.</summary>
internal static class HubFleet
{
    /// <summary>A site silent this long is offline: longer than a few of the sites' 2 s stats intervals.</summary>
    public static readonly TimeSpan SiteTimeout = TimeSpan.FromSeconds(8);

    public static Task<IHost> StartAsync(string brokerUrl, Dictionary<string, string?> transport)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Transport:ClientId"] = "hub-fleet",
            ["Transport:ReconnectMaxDelay"] = "00:00:01",
            ["Stats:Interval"] = "0s",
            ["Fleet:SiteTimeout"] = SiteTimeout.ToString(),
            ["Fleet:CheckInterval"] = "00:00:00.5",
            ["Fleet:PublishInterval"] = "00:00:01",
        };
        foreach (var (key, value) in transport) settings[key] = value;
        return WorkerHost.StartHostAsync(brokerUrl, builder =>
        {
            builder.AddEdgeServiceDefaults(FleetWorker.Component);
            builder.Services.AddFleetWorker(builder.Configuration);
        }, settings);
    }
}
