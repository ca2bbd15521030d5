using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// One hub of the scenario: its broker, the WAN proxy in front of it, the <c>edge-events bridge</c> process that joins
/// the site to it (and its killed predecessors, for their logs), and what the hub's consumers received.
/// </summary>
public sealed class HubSide(string name, ProcessBroker broker, string siteUrl, string folder) : IAsyncDisposable
{
    private readonly List<CliProcess> _bridges = [];

    public string Name { get; } = name;
    public ProcessBroker Broker { get; } = broker;
    public TcpProxy Wan { get; } = new(broker.Port);
    public IMessageTransport? Consumer { get; set; }
    public MessageLog? Events { get; set; }
    public MessageLog? Link { get; set; }
    public MessageLog? Answers { get; set; }
    /// <summary>The fleet component's <c>fleet/sites/{site}</c> for the site.</summary>
    public MessageLog? FleetStatus { get; set; }
    public string? QuestionId { get; set; }
    public CliProcess Bridge => _bridges[^1];

    private string WanUrl => Broker is NatsServer ? Wan.NatsUrl : Wan.MqttUrl;

    /// <summary>Starts the bridge (again, after a kill: same client ids, same outbox).</summary>
    public void StartBridge() => _bridges.Add(CliProcess.Start("dotnet",
        [
            CliProcess.EdgeEventsDll, "bridge", "--site", BridgedSite.Site, "--hub", WanUrl, "--broker", siteUrl,
            "--client-id", $"bridge-to-{Name}", "--outbox", Path.Combine(folder, $"bridge-{Name}.outbox.db"),
        ],
        new Dictionary<string, string>
        {
            ["EDGEEVENTS_Transport__ReconnectMaxDelay"] = "00:00:00.5",
            ["EDGEEVENTS_Bridge__Hub__ReconnectMaxDelay"] = "00:00:01",
            ["EDGEEVENTS_Bridge__Hub__KeepAlive"] = "00:00:05",
            // What a process kill leaves behind survives without an fsync per message (OutboxOptions.FlushToDisk).
            ["EDGEEVENTS_Bridge__Hub__Outbox__FlushToDisk"] = "false",
        }));

    /// <summary>The largest outbox backlog any of its bridge processes reported on reconnecting to the hub.</summary>
    public long LargestBacklog => _bridges.Max(b => BridgeLog.LargestBacklog(b.StandardError));

    /// <summary>Everything the bridge processes logged, for failure messages.</summary>
    public string BridgeLogs => string.Join("\n--- restarted ---\n", _bridges.Select(b => b.StandardError));

    public async ValueTask DisposeAsync()
    {
        foreach (var bridge in _bridges) await bridge.DisposeAsync();
        foreach (var log in new[] { Events, Link, Answers, FleetStatus }) if (log is not null) await log.DisposeAsync();
        if (Consumer is not null) await Consumer.DisposeAsync();
        await Wan.DisposeAsync();
        await Broker.DisposeAsync();
    }
}
