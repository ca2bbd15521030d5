using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Llm.Tests;

/// <summary>The LLM worker in a real generic host, as <c>edge-events llm</c> runs it, with the stories260K model.</summary>
internal sealed class LlmWorkerHost : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private LlmWorkerHost(IHost host) => _host = host;

    public static string ModelPath => TestData.Model("stories260K.gguf");

    public LlmWorker Worker => _host.Services.GetRequiredService<LlmWorker>();
    public EdgeComponent Component => _host.Services.GetRequiredKeyedService<EdgeComponent>(LlmWorker.Component);

    /// <summary>Starts the host and returns once the model is loaded and the worker's subscriptions are in place.</summary>
    public static async Task<LlmWorkerHost> StartAsync(string brokerUrl, string clientId = "llm-test", IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:Broker"] = brokerUrl,
            ["Transport:ClientId"] = clientId,
            ["Transport:ReconnectMinDelay"] = "00:00:00.05",
            ["Transport:ReconnectMaxDelay"] = "00:00:00.5",
            ["Llm:ModelPath"] = ModelPath,
            ["Llm:ContextSize"] = "1024",
            ["Llm:MaxTokens"] = "24",
            ["Llm:Threads"] = "2",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        builder.Configuration.AddInMemoryCollection(configuration);
        // EDGEEVENTS_TEST_LOGS=1 shows the worker's logs when a test needs explaining.
        if (Environment.GetEnvironmentVariable("EDGEEVENTS_TEST_LOGS") == "1") builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.AddLlmWorker(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        var started = new LlmWorkerHost(host);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await started.Worker.Ready.WaitAsync(timeout.Token);
        await started.Component.Transport.ConnectAsync(timeout.Token);
        return started;
    }

    /// <summary>Stops the worker the way a SIGTERM does: questions not answered yet stay unacknowledged.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _host.StopAsync();
        _host.Dispose();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
