using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using MQTTnet.Adapter;
using MQTTnet.AspNetCore;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// <see cref="BrokerOptions.MaxPacketBytes"/> on every listener. MQTTnet 5.2 has no limit on incoming packets and
/// reads a packet's whole body into one buffer, so each connection's bytes pass a <see cref="PacketSizeGuard"/> on
/// their way in, and a packet announced over the limit closes the connection before its body is read (the MQTT 3.1.1
/// and 5 rule for a packet the server will not process; MQTT 5 names it Packet too large). TCP and TLS: the channel
/// under MQTTnet's channel adapter is wrapped (MQTTnet keeps it in a private field, looked up once; a test covers
/// it). WebSockets: the connection's input pipe is wrapped before MQTTnet's connection handler reads it.
/// </summary>
internal static class PacketSizeLimit
{
    private static readonly FieldInfo? ChannelField =
        typeof(MqttChannelAdapter).GetField("_channel", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>MQTTnet's TCP/TLS adapter, with each accepted connection's channel guarded.</summary>
    public static IMqttServerAdapter Guard(IMqttServerAdapter adapter, int maxPacketBytes, ILogger logger) =>
        ChannelField is null
            ? throw new InvalidOperationException("MQTTnet's MqttChannelAdapter no longer has a _channel field: " +
                "Broker:MaxPacketBytes cannot be enforced (see PacketSizeLimit).")
            : new GuardedServerAdapter(adapter, maxPacketBytes, logger);

    /// <summary>MQTTnet's WebSocket connection handler, with each connection's input guarded.</summary>
    public static ConnectionHandler Guard(MqttConnectionHandler handler, int maxPacketBytes, ILogger logger) =>
        new GuardedConnectionHandler(handler, maxPacketBytes, logger);

    private static void LogRefusal(ILogger logger, object? endpoint, PacketSizeGuard guard, int maxPacketBytes) =>
        logger.LogWarning(
            "Closed the connection from {Endpoint}: it sent a packet of {Size} bytes, " +
            "over Broker:MaxPacketBytes ({Max})",
            endpoint, guard.RefusedSize == long.MaxValue ? "a malformed number of" : guard.RefusedSize, maxPacketBytes);

    private sealed class GuardedServerAdapter(IMqttServerAdapter inner, int maxPacketBytes, ILogger logger)
        : IMqttServerAdapter
    {
        public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

        public Task StartAsync(MqttServerOptions options, IMqttNetLogger mqttLogger)
        {
            inner.ClientHandler = adapter =>
            {
                // MQTTnet calls this right after creating the adapter, before reading from it.
                if (adapter is MqttChannelAdapter channelAdapter
                    && ChannelField!.GetValue(channelAdapter) is IMqttChannel channel)
                {
                    var guard = new PacketSizeGuard(maxPacketBytes);
                    ChannelField.SetValue(channelAdapter, new GuardedChannel(channel, guard, maxPacketBytes, logger));
                }
                return ClientHandler!(adapter);
            };
            return inner.StartAsync(options, mqttLogger);
        }

        public Task StopAsync() => inner.StopAsync();

        public void Dispose() => inner.Dispose();
    }

    private sealed class GuardedChannel(IMqttChannel inner, PacketSizeGuard guard, int maxPacketBytes, ILogger logger)
        : IMqttChannel
    {
        public X509Certificate2 ClientCertificate => inner.ClientCertificate;
        public System.Net.EndPoint RemoteEndPoint => inner.RemoteEndPoint;
        public System.Net.EndPoint LocalEndPoint => inner.LocalEndPoint;
        public bool IsSecureConnection => inner.IsSecureConnection;

        public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

        public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

        public async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            var read = await inner.ReadAsync(buffer, offset, count, cancellationToken);
            if (read == 0 || guard.Accept(buffer.AsSpan(offset, read))) return read;
            LogRefusal(logger, RemoteEndPoint, guard, maxPacketBytes);
            await inner.DisconnectAsync(CancellationToken.None);
            return 0;
        }

        public Task WriteAsync(
            ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, isEndOfPacket, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    private sealed class GuardedConnectionHandler(MqttConnectionHandler inner, int maxPacketBytes, ILogger logger)
        : ConnectionHandler
    {
        public override Task OnConnectedAsync(ConnectionContext connection)
        {
            var transport = connection.Transport;
            var guard = new PacketSizeGuard(maxPacketBytes);
            var input = new GuardedStream(
                transport.Input.AsStream(), guard, maxPacketBytes, connection.RemoteEndPoint, logger);
            connection.Transport = new Duplex(PipeReader.Create(input), transport.Output);
            return inner.OnConnectedAsync(connection);
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }

    /// <summary>
    /// A read-only stream that ends (as a closed connection does) at the first packet over the limit.
    /// </summary>
    private sealed class GuardedStream(
        Stream inner, PacketSizeGuard guard, int maxPacketBytes, object? endpoint, ILogger logger) : Stream
    {
        private bool _refused;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(
            Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_refused) return 0;
            var read = await inner.ReadAsync(buffer, cancellationToken);
            if (read == 0 || guard.Accept(buffer.Span[..read])) return read;
            _refused = true;
            LogRefusal(logger, endpoint, guard, maxPacketBytes);
            return 0;
        }

        public override Task<int> ReadAsync(
            byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
