using System.Text;
using System.Text.Json;
using EdgeEvents.Cli.Links;
using EdgeEvents.Testing;
using NATS.Client.Core;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// A hub of three clustered nats-server processes with JetStream (domain <c>hub</c>) and the accounts
/// <c>edge-events link nats --hub-accounts</c> prints for the given sites (site <c>s</c>'s password is <c>s-pw</c>,
/// the <c>hub</c> user's <c>hub-pw</c>), each server with its leafnode listener behind a fault proxy standing for the
/// WAN. Each server advertises its proxy as its leafnode address: a leaf node learns the cluster's addresses from the
/// server it is connected to, and would otherwise reconnect around the proxies.
/// </summary>
internal sealed class NatsHubCluster : IAsyncDisposable
{
    private NatsHubCluster(IReadOnlyList<NatsServer> servers, IReadOnlyList<TcpProxy> wan)
    {
        Servers = servers;
        Wan = wan;
    }

    public IReadOnlyList<NatsServer> Servers { get; }

    /// <summary>The way from the sites to each server's leafnode listener.</summary>
    public IReadOnlyList<TcpProxy> Wan { get; }

    /// <summary>What a site's <c>--hub</c> options name: every server's leafnode address, through the WAN.</summary>
    public IReadOnlyList<Uri> LeafUrls => [.. Wan.Select(p => new Uri($"nats-leaf://127.0.0.1:{p.Port}"))];

    public static async Task<NatsHubCluster> StartAsync(string folder, IReadOnlyList<string> sites)
    {
        var accounts = NatsLink.HubAccounts(sites, s => $"\"{s}-pw\"", [("hub", "\"hub-pw\"")]);
        int[] routePorts = [FreePort.Next(), FreePort.Next(), FreePort.Next()];
        int[] leafPorts = [FreePort.Next(), FreePort.Next(), FreePort.Next()];
        var wan = leafPorts.Select(p => new TcpProxy(p)).ToList();
        var routes = string.Join(", ", routePorts.Select(p => $"\"nats-route://127.0.0.1:{p}\""));
        var starts = Enumerable.Range(0, 3).Select(async i =>
        {
            var config = Path.Combine(folder, $"hub-{i + 1}.conf");
            await File.WriteAllTextAsync(config, $$"""
                server_name: hub-{{i + 1}}
                jetstream { store_dir: "{{Path.Combine(folder, $"hub-{i + 1}")}}", domain: hub }
                cluster { name: hub, host: 127.0.0.1, port: {{routePorts[i]}}, routes: [{{routes}}] }
                leafnodes { host: 127.0.0.1, port: {{leafPorts[i]}}, advertise: "127.0.0.1:{{wan[i].Port}}" }
                {{accounts}}
                """);
            return await NatsServer.StartNewAsync(jetStream: false, extraArguments: $"-c {config}");
        });
        return new NatsHubCluster(await Task.WhenAll(starts), wan);
    }

    /// <summary>Transport settings of a hub client: the first server, the <c>hub</c> user, core NATS only (the hub's own streams are not under test).</summary>
    public Dictionary<string, string?> HubClientSettings() => new()
    {
        ["Transport:Broker"] = Servers[0].Url, ["Transport:Username"] = "hub", ["Transport:Password"] = "hub-pw",
    };

    /// <summary>
    /// Creates site <paramref name="site"/>'s hub streams (R3) from <c>edge-events link nats --hub-stream</c>, logged
    /// in with the site's credentials; retried while the cluster elects its JetStream leader.
    /// </summary>
    public async Task CreateSiteStreamsAsync(string site, TimeSpan timeout)
    {
        await using var connection = new NatsConnection(new NatsOpts
        {
            Url = Servers[0].Url, AuthOpts = new NatsAuthOpts { Username = site, Password = $"{site}-pw" },
        });
        foreach (var stream in NatsLink.HubStreams) await CreateStreamAsync(connection, site, stream, timeout);
    }

    private static async Task CreateStreamAsync(NatsConnection connection, string site, string stream, TimeSpan timeout)
    {
        var config = Encoding.UTF8.GetBytes(NatsLink.HubStreamConfig(site, stream, replicas: 3));
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var reply = await connection.RequestAsync<byte[], byte[]>($"$JS.API.STREAM.CREATE.{stream}", config,
                    replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) });
                using var answer = JsonDocument.Parse(reply.Data ?? []);
                if (!answer.RootElement.TryGetProperty("error", out var error)) return;
                last = error.ToString();
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException) { last = ex.Message; }
            await Task.Delay(500);
        }
        throw new TimeoutException($"The hub stream {stream} of site '{site}' could not be created: {last}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in Wan) await proxy.DisposeAsync();
        foreach (var server in Servers) await server.DisposeAsync();
    }
}
