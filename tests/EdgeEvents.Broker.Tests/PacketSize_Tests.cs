using System.Diagnostics;
using System.Net.Sockets;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>Broker:MaxPacketBytes (issue 24, finding 7): a packet over the limit closes its connection before its body is read.</summary>
public sealed class PacketSize_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_publish_over_the_limit_closes_its_connection_and_one_within_it_is_delivered(bool webSocket)
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0, WebSocketPort = 0, MaxPacketBytes = 64 * 1024 }, NullLogger.Instance);
        using var subscriber = await ConnectAsync(broker, webSocket: false);
        var received = new List<int>();
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            lock (received) received.Add((int)e.ApplicationMessage.Payload.Length);
            return Task.CompletedTask;
        };
        await subscriber.SubscribeAsync("edge/big/#");
        using var publisher = await ConnectAsync(broker, webSocket);

        await publisher.PublishBinaryAsync("edge/big/fits", new byte[60 * 1024], MqttQualityOfServiceLevel.AtLeastOnce);
        var refused = await Record.ExceptionAsync(() => publisher.PublishBinaryAsync("edge/big/over", new byte[65 * 1024], MqttQualityOfServiceLevel.AtLeastOnce));
        await Receive.UntilAsync(() => !publisher.IsConnected, Timeout);
        using var again = await ConnectAsync(broker, webSocket);
        await again.PublishBinaryAsync("edge/big/after", new byte[1024], MqttQualityOfServiceLevel.AtLeastOnce);
        await Receive.UntilAsync(() => { lock (received) return received.Count == 2; }, Timeout);

        output.WriteLine($"{(webSocket ? "WebSocket" : "TCP")}: 60 KiB delivered, 65 KiB refused ({refused?.GetType().Name}: {refused?.Message}), publisher connected afterwards: {publisher.IsConnected}");
        lock (received) Assert.Equal([60 * 1024, 1024], received);
        Assert.True(subscriber.IsConnected);
    }

    [Fact]
    public async Task A_header_announcing_200_MB_closes_the_connection_before_any_body_arrives()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        var before = Process.GetCurrentProcess().WorkingSet64;
        using var socket = new TcpClient();
        await socket.ConnectAsync("127.0.0.1", broker.Port);
        var stream = socket.GetStream();
        // A CONNECT whose remaining length says 200,000,000 bytes, then nothing: MQTTnet alone would wait for them all.
        byte[] header = [0x10, .. VariableByteInteger(200_000_000)];
        await stream.WriteAsync(header);
        var watch = Stopwatch.StartNew();
        using var wait = new CancellationTokenSource(Timeout);
        var read = await stream.ReadAsync(new byte[16], wait.Token);
        var after = Process.GetCurrentProcess().WorkingSet64;

        output.WriteLine($"connection closed after {watch.ElapsedMilliseconds} ms (read {read} bytes); test process working set {before >> 20} → {after >> 20} MiB");
        Assert.Equal(0, read);
    }

    private static byte[] VariableByteInteger(int value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            bytes.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);
        return [.. bytes];
    }

    private static async Task<IMqttClient> ConnectAsync(EmbeddedBroker broker, bool webSocket)
    {
        var options = new MqttClientOptionsBuilder().WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"size-{Guid.NewGuid():N}"[..20]).WithTimeout(Timeout);
        if (webSocket) options.WithWebSocketServer(o => o.WithUri(broker.WebSocketUrl!));
        else options.WithTcpServer("127.0.0.1", broker.Port);
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(options.Build());
        return client;
    }
}
