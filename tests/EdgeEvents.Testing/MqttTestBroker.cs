using EdgeEvents.Broker;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Testing;

/// <summary>
/// Either MQTT broker a test can run against: <c>embedded</c> (MQTTnet server in-process, state in memory),
/// <c>embedded-durable</c> (the same with <see cref="BrokerOptions.DataPath"/> in a temp folder) or <c>mosquitto</c>
/// (child process, persistence on).
/// </summary>
public sealed class MqttTestBroker : IAsyncDisposable
{
    private EmbeddedBroker? _embedded;
    private readonly BrokerOptions? _embeddedOptions;
    private readonly MosquittoBroker? _mosquitto;
    private readonly int _port;

    private MqttTestBroker(
        string kind, EmbeddedBroker? embedded, BrokerOptions? embeddedOptions, MosquittoBroker? mosquitto)
    {
        Kind = kind;
        _embedded = embedded;
        _embeddedOptions = embeddedOptions;
        _mosquitto = mosquitto;
        _port = embedded?.Port ?? mosquitto!.Port;
    }

    public const string Embedded = "embedded";
    public const string EmbeddedDurable = "embedded-durable";
    public const string Mosquitto = "mosquitto";

    public string Kind { get; }
    public int Port => _port;
    public string Url => $"mqtt://127.0.0.1:{_port}";

    public static async Task<MqttTestBroker> StartAsync(string kind)
    {
        switch (kind)
        {
            case Mosquitto:
                return new MqttTestBroker(kind, null, null, await MosquittoBroker.StartNewAsync());
            case Embedded or EmbeddedDurable:
                var dataPath = kind == EmbeddedDurable
                    ? Directory.CreateTempSubdirectory("edge-broker-").FullName
                    : null;
                var options = new BrokerOptions { Port = 0, DataPath = dataPath };
                var broker = await EmbeddedBroker.StartAsync(options, NullLogger.Instance);
                return new MqttTestBroker(kind, broker, options with { Port = broker.Port }, null);
            default:
                throw new ArgumentException($"Unknown broker kind '{kind}'.", nameof(kind));
        }
    }

    /// <summary>
    /// Stops and starts the broker on the same port. mosquitto keeps its persisted sessions and messages, and so does
    /// the durable embedded broker (same data folder); the in-memory embedded broker keeps nothing, as a real restart
    /// of it does.
    /// </summary>
    public async Task RestartAsync(TimeSpan downtime = default)
    {
        if (_mosquitto is not null) { await _mosquitto.RestartAsync(downtime); return; }
        await _embedded!.DisposeAsync();
        if (downtime > TimeSpan.Zero) await Task.Delay(downtime);
        _embedded = await EmbeddedBroker.StartAsync(_embeddedOptions!, NullLogger.Instance);
    }

    /// <summary>
    /// Waits until the broker no longer lists the client as connected. A client's DISCONNECT is processed
    /// asynchronously; tests that need "the subscriber is away" wait for it instead of racing it. (mosquitto handles
    /// one socket event at a time and lists nothing to poll, so there it returns at once.)
    /// </summary>
    public async Task WaitUntilOfflineAsync(string clientId, TimeSpan timeout)
    {
        if (_embedded is null) return;
        var deadline = DateTime.UtcNow + timeout;
        while ((await _embedded.Server.GetClientsAsync()).Any(c => c.Id == clientId))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(
                    $"Client '{clientId}' still connected after {timeout.TotalSeconds:0.#} s.");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
        if (_embeddedOptions?.DataPath is { } data) Directory.Delete(data, recursive: true);
        if (_mosquitto is not null) await _mosquitto.DisposeAsync();
    }
}
