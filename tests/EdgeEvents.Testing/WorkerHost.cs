using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Testing;

/// <summary>
/// A worker in a real generic host on a test broker, registered as its <c>edge-events</c> command registers it: the one
/// host every test project uses. A test project's own host adds only what is particular to its worker (how to tell it
/// is ready, how to feed it).
/// </summary>
public class WorkerHost : IAsyncDisposable
{
    private bool _stopped;

    protected WorkerHost(IHost host) => Host = host;

    public IHost Host { get; }

    public T Service<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public EdgeComponent ComponentNamed(string name) => Host.Services.GetRequiredKeyedService<EdgeComponent>(name);

    /// <summary>
    /// The host, not started: the test broker, a client id of its own, a fast reconnect, then
    /// <paramref name="settings"/> (which win), and the worker's registration. <c>EDGEEVENTS_TEST_LOGS=1</c> shows its
    /// logs when a test needs explaining.
    /// </summary>
    public static IHost Build(string brokerUrl, Action<HostApplicationBuilder> addWorker,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder =
            Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:Broker"] = brokerUrl,
            ["Transport:ClientId"] = $"test-{Guid.NewGuid():N}"[..24],
            ["Transport:ReconnectMinDelay"] = "00:00:00.05",
            ["Transport:ReconnectMaxDelay"] = "00:00:00.5",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        builder.Configuration.AddInMemoryCollection(configuration);
        if (Environment.GetEnvironmentVariable("EDGEEVENTS_TEST_LOGS") == "1")
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        addWorker(builder);
        return builder.Build();
    }

    /// <summary>
    /// Builds and starts the host; what "ready" means is the caller's (see the test projects' own hosts).
    /// </summary>
    public static async Task<IHost> StartHostAsync(string brokerUrl, Action<HostApplicationBuilder> addWorker,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = Build(brokerUrl, addWorker, settings);
        await host.StartAsync();
        return host;
    }

    /// <summary>Stops the worker the way a SIGTERM does; once only, so a test may stop it before disposing.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await Host.StopAsync();
        Host.Dispose();
        await OnStoppedAsync();
    }

    /// <summary>
    /// Releases what a test project's host adds (e.g. its observer connection) after the worker stopped.
    /// </summary>
    protected virtual ValueTask OnStoppedAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        GC.SuppressFinalize(this);
    }
}
