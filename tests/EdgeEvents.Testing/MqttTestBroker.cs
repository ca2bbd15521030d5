using EdgeEvents.Pipeline.Broker;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Testing;

/// <summary>Either MQTT broker a test can run against: <c>embedded</c> (MQTTnet server in-process) or <c>mosquitto</c> (child process).</summary>
public sealed class MqttTestBroker : IAsyncDisposable
{
    private EmbeddedBroker? _embedded;
    private readonly MosquittoBroker? _mosquitto;
    private readonly int _port;

    private MqttTestBroker(EmbeddedBroker? embedded, MosquittoBroker? mosquitto)
    {
        _embedded = embedded;
        _mosquitto = mosquitto;
        _port = embedded?.Port ?? mosquitto!.Port;
    }

    public const string Embedded = "embedded";
    public const string Mosquitto = "mosquitto";

    public string Kind => _mosquitto is null ? Embedded : Mosquitto;
    public int Port => _port;
    public string Url => $"mqtt://127.0.0.1:{_port}";

    public static async Task<MqttTestBroker> StartAsync(string kind) => kind switch
    {
        Embedded => new MqttTestBroker(await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance), null),
        Mosquitto => new MqttTestBroker(null, await MosquittoBroker.StartNewAsync()),
        _ => throw new ArgumentException($"Unknown broker kind '{kind}'.", nameof(kind)),
    };

    /// <summary>
    /// Stops and starts the broker on the same port. mosquitto keeps its persisted sessions and messages; the embedded
    /// broker keeps nothing (its state is in memory), which is what a real restart of it does too.
    /// </summary>
    public async Task RestartAsync(TimeSpan downtime = default)
    {
        if (_mosquitto is not null) { await _mosquitto.RestartAsync(downtime); return; }
        await _embedded!.DisposeAsync();
        if (downtime > TimeSpan.Zero) await Task.Delay(downtime);
        _embedded = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = _port }, NullLogger.Instance);
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
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Client '{clientId}' still connected after {timeout.TotalSeconds:0.#} s.");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
        if (_mosquitto is not null) await _mosquitto.DisposeAsync();
    }
}
