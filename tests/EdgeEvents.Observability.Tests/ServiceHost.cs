using System.Net;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Observability.Tests;

/// <summary>A worker host as <c>HostedCommand</c> builds it: service defaults plus one component, on a free health port.</summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private ServiceHost(IHost host, int port)
    {
        Host = host;
        Port = port;
    }

    public IHost Host { get; }
    public int Port { get; }

    public EdgeComponent Component(string name) => Host.Services.GetRequiredKeyedService<EdgeComponent>(name);

    public static async Task<ServiceHost> StartAsync(string component, string brokerUrl, double statsSeconds = 0, Action<IServiceCollection>? configure = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var port = FreePort.Next();
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Broker"] = brokerUrl,
            ["Transport:ClientId"] = $"{component}-{Guid.NewGuid():N}"[..30],
            ["Transport:PersistentSession"] = "false",
            ["Transport:ReconnectMinDelay"] = "00:00:00.05",
            ["Transport:ReconnectMaxDelay"] = "00:00:00.5",
            ["Health:Port"] = port.ToString(),
            ["Stats:IntervalSeconds"] = statsSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.AddEdgeServiceDefaults(component);
        builder.Services.AddEdgeComponent(builder.Configuration, component);
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new ServiceHost(host, port);
    }

    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{Port}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls <paramref name="path"/> until it answers <paramref name="expected"/>; fails with the last answer after <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForAsync(string path, HttpStatusCode expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (true)
        {
            try
            {
                var (status, body) = await GetAsync(path);
                if (status == expected) return body;
                last = $"{(int)status}: {body}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{path} did not answer {(int)expected} within {timeout.TotalSeconds:0.#} s; last answer {last}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}
