using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace EdgeEvents.Pipeline.Mqtt;

/// <summary>
/// MQTT 5 transport over MQTTnet. One background loop owns the connection: it connects with backoff and jitter,
/// resubscribes, publishes the retained <c>online</c> status, and waits for the disconnect signal. MQTTnet's own
/// disconnect handler only signals that loop; reconnecting from inside it can deadlock.
/// </summary>
public sealed partial class MqttTransport : IMessageTransport
{
    internal const string MessageIdProperty = "msg-id";

    private readonly TransportOptions _options;
    private readonly BrokerAddress _address;
    private readonly TopicScheme _topics;
    private readonly string _component;
    private readonly ILogger _logger;
    private readonly Presence _presence;
    private readonly IMqttClient _client;
    private readonly RedeliveryIds _redeliveryIds;
    private readonly MqttClientOptions _clientOptions;
    private readonly ConcurrentDictionary<long, MqttSubscription> _subscriptions = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private static readonly TimeSpan SubscribeGracePeriod = TimeSpan.FromSeconds(10);
    private TaskCompletionSource _connected = NewSignal();
    private TaskCompletionSource _subscriptionAdded = NewSignal();
    private DateTime _connectedAt;
    private TaskCompletionSource _disconnected = NewSignal();
    private Task? _connectionLoop;
    private long _nextSubscriptionId;
    private int _disposed;

    public MqttTransport(TransportOptions options, BrokerAddress address, TopicScheme topics, string component,
        string clientId, ILogger logger)
    {
        _options = options;
        _address = address;
        _topics = topics;
        _component = component;
        _logger = logger;
        if (options.AckTimeout <= TimeSpan.Zero)
            throw new InvalidOperationException($"Transport:AckTimeout is {options.AckTimeout}: it must be positive.");
        _presence = options.Presence
            ?? new Presence(topics.Status(component), StatusPayloads.Online, StatusPayloads.Offline);
        ClientId = clientId;
        // Beside the outbox, so the ids of id-less messages survive a restart where the outbox does.
        _redeliveryIds = options.Outbox.Path is { Length: > 0 }
            ? RedeliveryIds.Open(RedeliveryIds.PathBeside(options.Outbox.ResolvePath(component)))
            : RedeliveryIds.InMemory();
        _client = new MqttClientFactory().CreateMqttClient();
        _clientOptions = BuildClientOptions();
        _client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        _client.DisconnectedAsync += e =>
        {
            _disconnected.TrySetResult();
            return Task.CompletedTask;
        };
    }

    public string System => "mqtt";
    public string ClientId { get; }
    public bool IsConnected => _client.IsConnected;
    public event Action<bool>? ConnectionChanged;
    public event Action<RejectedMessage>? Rejected;

    /// <summary>Publishes dropped because the link was down (at-most-once only).</summary>
    public long DroppedWhileDisconnected => Interlocked.Read(ref _droppedWhileDisconnected);
    private long _droppedWhileDisconnected;

    public Task ConnectAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _connectionLoop ??= Task.Run(() => ConnectionLoopAsync(_disposing.Token), CancellationToken.None);
        return _connected.Task.WaitAsync(ct);
    }

    private async Task ConnectionLoopAsync(CancellationToken ct)
    {
        var delay = _options.ReconnectMinDelay;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                _disconnected = NewSignal();
                _connectedAt = DateTime.UtcNow;
                var result = await _client.ConnectAsync(_clientOptions, ct);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new InvalidOperationException(
                        $"Broker refused the connection: {result.ResultCode} {result.ReasonString}");
                }
                _logger.LogInformation("Connected to {Broker} as {ClientId} (session present: {SessionPresent})",
                    _address, ClientId, result.IsSessionPresent);
                await ResubscribeAllAsync(ct);
                await PublishStatusAsync(_presence.Online, ct);
                delay = _options.ReconnectMinDelay;
                _connected.TrySetResult();
                ConnectionChanged?.Invoke(true);
                await _disconnected.Task.WaitAsync(ct);
                _connected = NewSignal();
                _logger.LogWarning("Disconnected from {Broker}; reconnecting", _address);
                ConnectionChanged?.Invoke(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Connected but the set-up (subscribe, status) failed: drop the link and start over.
                await DropLinkAsync();
                if (_connected.Task.IsCompleted) { _connected = NewSignal(); ConnectionChanged?.Invoke(false); }
                _logger.LogWarning("Cannot connect to {Broker}: {Reason}; retrying in {Delay} ms",
                    _address, ex.Message, (int)delay.TotalMilliseconds);
                try { await Task.Delay(Jitter(delay), ct); } catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }
        }
    }

    /// <summary>
    /// Waits for an MQTTnet publish started without a token (every PUBLISH we send goes through here):
    /// <paramref name="ct"/> ends the wait, never the write. MQTTnet 5.2 writes a PUBLISH's header and payload in
    /// separate socket writes and, when the token fires during them, returns with part of the packet on the wire and
    /// the connection still up; the broker then reads the start of the next packet as the rest of this one and forwards
    /// a corrupted payload (the load bench's malformed frames when it stopped its cameras; see README, Transport).
    /// Uncancelled, MQTTnet writes the packet whole (or the link fails), so a cancelled caller returns at once while
    /// the send finishes behind it: the message may still go out, and its payload must not be reused until then (ours
    /// never are).
    /// </summary>
    private static Task<T> UntilSent<T>(Task<T> send, CancellationToken ct) => send.WaitAsync(ct);

    /// <summary>
    /// <see cref="UntilSent"/> for a QoS 1 publish, bounded by <see cref="TransportOptions.AckTimeout"/>. MQTTnet 5.2
    /// waits for a PUBACK without limit while the link looks alive (keepalive pings answered, or never due because we
    /// keep sending), so one acknowledgement the broker does not send would hold the publisher for ever. Past the
    /// bound the link is dropped, which fails the publish as a link failure: MQTT resends an unacknowledged message
    /// only on a new connection, and an at-least-once caller's retry does so after the reconnect.
    /// </summary>
    private async Task<MqttClientPublishResult> UntilAcknowledged(
        Task<MqttClientPublishResult> send, string topic, CancellationToken ct)
    {
        try
        {
            return await send.WaitAsync(_options.AckTimeout, ct);
        }
        catch (TimeoutException)
        {
            _logger.LogError(
                "No acknowledgement from {Broker} for a publish to {Topic} in {Timeout} ms; reconnecting to resend it",
                _address, topic, (int)_options.AckTimeout.TotalMilliseconds);
            await DropLinkAsync();
            throw new MqttCommunicationTimedOutException();
        }
    }

    private async Task DropLinkAsync()
    {
        if (!_client.IsConnected) return;
        try
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }
        catch (Exception ex)
        {
            _logger.LogDebug(ex, "Dropping the connection to {Broker} failed", _address);
        }
    }

    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.5 + Random.Shared.NextDouble());

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MqttClientOptions BuildClientOptions()
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_address.Host, _address.Port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(ClientId)
            .WithCleanStart(!_options.PersistentSession)
            .WithSessionExpiryInterval(_options.PersistentSession ? (uint)_options.SessionExpiry.TotalSeconds : 0)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(_presence.Topic)
            .WithWillPayload(Encoding.UTF8.GetBytes(_presence.Offline))
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("text/plain");
        if (!string.IsNullOrEmpty(_options.Username))
            builder.WithCredentials(_options.Username, _options.ReadPassword());
        if (_address.Tls)
        {
            var ca = _options.CaFile is { Length: > 0 } f ? X509CertificateLoader.LoadCertificateFromFile(f) : null;
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls();
                tls.WithTargetHost(_address.Host);
                // The CA decides trust; the host name must still match, or any certificate that CA signed would do.
                if (ca is not null)
                {
                    const global::System.Net.Security.SslPolicyErrors nameMismatch =
                        global::System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch;
                    tls.WithCertificateValidationHandler(ctx =>
                        (ctx.SslPolicyErrors & nameMismatch) == 0 && ValidateAgainstCa(ctx.Certificate, ca));
                }
            });
        }
        var options = builder.Build();
        if (options.ChannelOptions is MqttClientTcpOptions tcp) tcp.BufferSize = _options.BufferSize;
        return options;
    }

    /// <summary>Accepts the broker certificate only if it chains to the configured CA.</summary>
    internal static bool ValidateAgainstCa(X509Certificate? presented, X509Certificate2 ca)
    {
        if (presented is null) return false;
        using var cert = new X509Certificate2(presented);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }

    private Task PublishStatusAsync(string state, CancellationToken ct) =>
        UntilAcknowledged(_client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(_presence.Topic)
            .WithPayload(Encoding.UTF8.GetBytes(state))
            .WithContentType("text/plain")
            .WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), CancellationToken.None), _presence.Topic, ct);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_client.IsConnected)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await PublishStatusAsync(_presence.Offline, timeout.Token);
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), timeout.Token);
            }
            catch (Exception ex)
            {
                _logger.LogDebug(ex, "Clean disconnect failed");
            }
        }
        await _disposing.CancelAsync();
        if (_connectionLoop is not null) await _connectionLoop;
        foreach (var subscription in _subscriptions.Values) subscription.Channel.Complete();
        _subscriptions.Clear();
        _client.Dispose();
        _redeliveryIds.Dispose();
        _disposing.Dispose();
    }
}
