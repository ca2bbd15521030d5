using System.Net;
using System.Net.Sockets;

namespace EdgeEvents.Testing;

/// <summary>
/// A loopback TCP proxy that can cut the link (abort every connection and refuse new ones), stall it (hold every byte
/// without closing anything, like a dead route: only keepalives notice) or throttle it, so tests can break the
/// network between a client and a broker without touching either.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> _links = [];
    private readonly Task _acceptLoop;
    private volatile bool _cut;
    private volatile bool _stalled;
    private volatile bool _stalledFromClient;
    private int _bytesPerSecond;
    private long _bytesUp;
    private long _bytesDown;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }
    public string MqttUrl => $"mqtt://127.0.0.1:{Port}";
    public string NatsUrl => $"nats://127.0.0.1:{Port}";

    /// <summary>
    /// Aborts every open connection (RST, like a pulled cable or a killed process) and refuses new ones until
    /// <see cref="Restore"/>.
    /// </summary>
    public void Cut()
    {
        _cut = true;
        lock (_links)
        {
            foreach (var (client, upstream) in _links)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                upstream.Dispose();
            }
            _links.Clear();
        }
    }

    public void Restore() => _cut = false;

    /// <summary>
    /// Bytes forwarded from clients to the target since start (what a WAN meter would count going up).
    /// </summary>
    public long BytesUp => Interlocked.Read(ref _bytesUp);

    /// <summary>Bytes forwarded from the target back to clients since start.</summary>
    public long BytesDown => Interlocked.Read(ref _bytesDown);

    /// <summary>
    /// Stops forwarding bytes in both directions while keeping every connection open, until <see cref="Resume"/>.
    /// </summary>
    public void Stall() => _stalled = true;

    /// <summary>
    /// Stops forwarding what the client sends (its acknowledgements, its publishes) while still delivering what the
    /// target sends it, until <see cref="Resume"/>: a client that receives and works but whose answers go nowhere.
    /// </summary>
    public void StallFromClient() => _stalledFromClient = true;

    public void Resume() => _stalled = _stalledFromClient = false;

    /// <summary>
    /// Limits each direction of each connection to about <paramref name="bytesPerSecond"/>; null lifts the limit.
    /// </summary>
    public void Throttle(int? bytesPerSecond) => _bytesPerSecond = bytesPerSecond ?? 0;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            if (_cut) { client.Client.LingerState = new LingerOption(true, 0); client.Dispose(); continue; }
            // Forward small packets (acks) at once, as the endpoints do; Nagle here would add milliseconds per
            // round trip.
            client.NoDelay = true;
            var upstream = new TcpClient { NoDelay = true };
            try { await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token); }
            catch (Exception) { client.Dispose(); upstream.Dispose(); continue; }
            lock (_links) _links.Add((client, upstream));
            _ = PumpAsync(client, upstream);
        }
    }

    private async Task PumpAsync(TcpClient client, TcpClient upstream)
    {
        try
        {
            await Task.WhenAny(
                CopyAsync(client.GetStream(), upstream.GetStream(), fromClient: true),
                CopyAsync(upstream.GetStream(), client.GetStream(), fromClient: false));
        }
        catch (Exception) { }
        finally
        {
            lock (_links) _links.Remove((client, upstream));
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, bool fromClient)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0) return;
            while (_stalled || (fromClient && _stalledFromClient)) await Task.Delay(10, _stop.Token);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            Interlocked.Add(ref fromClient ? ref _bytesUp : ref _bytesDown, read);
            if (_bytesPerSecond is > 0 and var rate)
                await Task.Delay(TimeSpan.FromSeconds((double)read / rate), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try { await _acceptLoop; } catch (Exception) { }
        _stop.Dispose();
    }
}
