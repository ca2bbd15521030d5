using System.Net;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Observability.Tests;

/// <summary>
/// A worker host as <c>HostedCommand</c> builds it: service defaults plus one component, on a free health port.
/// </summary>
internal sealed class ServiceHost : WorkerHost
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private ServiceHost(IHost host, int port) : base(host) => Port = port;

    public int Port { get; }

    public static async Task<ServiceHost> StartAsync(string component, string brokerUrl, double statsSeconds = 0,
        Action<IServiceCollection>? configure = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var port = FreePort.Next();
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:ClientId"] = $"{component}-{Guid.NewGuid():N}"[..30],
            ["Transport:PersistentSession"] = "false",
            ["Health:Port"] = port.ToString(),
            ["Stats:Interval"] = $"{statsSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}s",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        var host = await StartHostAsync(brokerUrl, builder =>
        {
            builder.AddEdgeServiceDefaults(component);
            builder.Services.AddEdgeComponent(builder.Configuration, component);
            configure?.Invoke(builder.Services);
        }, configuration);
        return new ServiceHost(host, port);
    }

    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{Port}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Polls <paramref name="path"/> until it answers <paramref name="expected"/>; fails with the last answer after
    /// <paramref name="timeout"/>.
    /// </summary>
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
                throw new TimeoutException($"{path} did not answer {(int)expected} within " +
                    $"{timeout.TotalSeconds:0.#} s; last answer {last}");
            await Task.Delay(100);
        }
    }
}
