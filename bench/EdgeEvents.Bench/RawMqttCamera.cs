using System.Net.Sockets;
using System.Text;

namespace EdgeEvents.Bench;

/// <summary>
/// A simulated camera that costs the machine as little as a load generator can: one MQTT 3.1.1 connection on a plain
/// socket, and each frame sent as a PUBLISH packet (QoS 0) built once per topic and payload, so a frame is one socket
/// write. Real cameras are other devices; on this 2-core machine every CPU-millisecond the simulated ones spend is
/// taken from the worker they feed.
/// </summary>
internal sealed class RawMqttCamera : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly Dictionary<string, (byte[] Payload, byte[] Packet)> _packets = new(StringComparer.Ordinal);

    private RawMqttCamera(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>Connects to the broker at <paramref name="port"/> on loopback (clean session, no keep-alive) and waits
    /// for its CONNACK.</summary>
    public static async Task<RawMqttCamera> ConnectAsync(int port, string clientId, CancellationToken ct)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port, ct);
        var camera = new RawMqttCamera(client);
        var id = Encoding.UTF8.GetBytes(clientId);
        // Variable header: protocol name "MQTT", level 4 (3.1.1), flags 0x02 (clean session), keep-alive 0 (off).
        byte[] variable = [0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x02, 0, 0, (byte)(id.Length >> 8),
            (byte)id.Length, .. id];
        await camera._stream.WriteAsync(Packet(0x10, variable, []), ct);
        var connack = new byte[4];
        await camera._stream.ReadExactlyAsync(connack, ct);
        if (connack[0] != 0x20 || connack[3] != 0) throw new InvalidOperationException($"Broker refused the " +
            $"connection (CONNACK return code {connack[3]}).");
        return camera;
    }

    /// <summary>Sends <paramref name="payload"/> on <paramref name="topic"/> (QoS 0); the packet is built when the
    /// topic or payload is new.</summary>
    public ValueTask PublishAsync(string topic, byte[] payload, CancellationToken ct)
    {
        if (!_packets.TryGetValue(topic, out var cached) || !ReferenceEquals(cached.Payload, payload))
        {
            var name = Encoding.UTF8.GetBytes(topic);
            _packets[topic] = cached = (payload,
                Packet(0x30, [(byte)(name.Length >> 8), (byte)name.Length, .. name], payload));
        }
        return _stream.WriteAsync(cached.Packet, ct);
    }

    /// <summary>Fixed header (type and remaining length as a variable-length integer), then the two parts.</summary>
    private static byte[] Packet(byte type, byte[] head, byte[] body)
    {
        var remaining = head.Length + body.Length;
        var header = new List<byte> { type };
        do
        {
            var digit = (byte)(remaining % 128);
            remaining /= 128;
            header.Add(remaining > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (remaining > 0);
        return [.. header, .. head, .. body];
    }

    public async ValueTask DisposeAsync()
    {
        // DISCONNECT, so the broker does not publish a will or log a lost connection.
        try { await _stream.WriteAsync(new byte[] { 0xE0, 0 }); } catch (IOException) { }
        _client.Dispose();
    }
}
