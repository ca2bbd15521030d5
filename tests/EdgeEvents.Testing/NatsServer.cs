using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Testing;

/// <summary>
/// A real <c>nats-server</c> on a free loopback port, by default with JetStream storing in the broker's temp folder.
/// <see cref="ProcessBroker.RestartAsync"/> keeps the port and the JetStream store; dispose kills the server and
/// deletes the store.
/// </summary>
public sealed class NatsServer : ProcessBroker
{
    private readonly string _extraArguments;

    private NatsServer(bool jetStream, string extraArguments) : base("nats-server")
    {
        JetStream = jetStream;
        _extraArguments = extraArguments;
    }

    public bool JetStream { get; }

    public override string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>
    /// Starts nats-server and returns once it accepts connections. <paramref name="extraArguments"/> are added to its
    /// command line (e.g. <c>--user u --pass p</c>).
    /// </summary>
    public static async Task<NatsServer> StartNewAsync(bool jetStream = true, string extraArguments = "")
    {
        var server = new NatsServer(jetStream, extraArguments);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>
    /// A connected <see cref="NatsTransport"/> with test timings (<see cref="TestTransports.Options"/>), for tests
    /// that need NATS-only settings; <paramref name="url"/> defaults to this server (pass a proxy's to cut the link).
    /// </summary>
    public async Task<NatsTransport> ConnectAsync(
        string component = "test", NatsOptions? nats = null, int? maxPayloadBytes = null, string? url = null)
    {
        var options = TestTransports.Options(url ?? Url);
        if (maxPayloadBytes is { } max) options = options with { MaxPayloadBytes = max };
        var transport = new NatsTransport(options, nats ?? NatsOptions.Default, BrokerAddress.Parse(options.Broker),
            new TopicScheme(options.Prefix), component, options.ClientId!, NullLogger.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await transport.ConnectAsync(timeout.Token);
        }
        catch
        {
            await transport.DisposeAsync();
            throw;
        }
        return transport;
    }

    protected override string Arguments() =>
        $"-a 127.0.0.1 -p {Port}" + (JetStream ? $" -js -sd {DataFolder}" : "") +
        (_extraArguments.Length > 0 ? " " + _extraArguments : "");
}
