using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Llm.Tests;

/// <summary>
/// The LLM worker in a <see cref="WorkerHost"/>, as <c>edge-events llm</c> runs it, with the stories260K model.
/// </summary>
internal sealed class LlmWorkerHost : WorkerHost
{
    private LlmWorkerHost(IHost host) : base(host)
    {
    }

    public static string ModelPath => TestData.Model("stories260K.gguf");

    public LlmWorker Worker => Service<LlmWorker>();
    public EdgeComponent Component => ComponentNamed(LlmWorker.Component);

    /// <summary>
    /// Starts the host and returns once the model is loaded and the worker's subscriptions are in place.
    /// </summary>
    public static async Task<LlmWorkerHost> StartAsync(
        string brokerUrl, string clientId = "llm-test", IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:ClientId"] = clientId,
            ["Llm:ModelPath"] = ModelPath,
            ["Llm:ContextSize"] = "1024",
            ["Llm:MaxTokens"] = "24",
            ["Llm:Threads"] = "2",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        var host = await StartHostAsync(
            brokerUrl, builder => builder.Services.AddLlmWorker(builder.Configuration), configuration);
        var started = new LlmWorkerHost(host);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await started.Worker.Ready.WaitAsync(timeout.Token);
        await started.Component.Transport.ConnectAsync(timeout.Token);
        return started;
    }

    /// <summary>A test's own subscription, deep enough for every answer and notice a case produces.</summary>
    public static async Task<IMessageSubscription> WatchAsync(
        IMessageTransport transport, string filter, bool deduplicate = true) =>
        await transport.SubscribeAsync(
            new SubscriptionRequest(filter) { Capacity = 1024, Deduplicate = deduplicate }, default);
}
