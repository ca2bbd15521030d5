using System.Collections.Concurrent;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

/// <summary>
/// NATS transport over NATS.Client.Core, with JetStream (NATS.Net) where durability is asked for.
/// NATS.Client.Core reconnects and resubscribes core subscriptions by itself; one background loop reacts to its
/// connection events: after every (re)connect it creates or updates the JetStream streams and publishes the
/// <c>online</c> status, then marks the transport ready, which releases waiting subscriptions and at-least-once
/// publishes. NATS has no last will: <c>offline</c> is published on dispose only, so a killed process leaves
/// <c>online</c> behind.
/// </summary>
public sealed partial class NatsTransport : IMessageTransport
{
    private readonly TransportOptions _options;
    private readonly BrokerAddress _address;
    private readonly TopicScheme _topics;
    private readonly string _component;
    private readonly ILogger _logger;
    private readonly Presence _presence;
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly NatsJetStreamOptions? _jetStream;
    private readonly string _inboxPrefix;
    private readonly StreamConfig? _stream;
    private readonly StreamConfig? _retainedStream;
    /// <summary>Subjects of both streams: at-least-once publishes to these go through JetStream.</summary>
    private readonly List<string> _storedSubjects = [];
    private readonly ConcurrentDictionary<NatsSubscription, byte> _subscriptions = new();
    private readonly CancellationTokenSource _disposing = new();
    private TaskCompletionSource _ready = NewSignal();
    private TaskCompletionSource _stateChanged = NewSignal();
    private CancellationTokenSource _linkLost = new();
    private Task? _connectionLoop;
    private int _needsSetUp = 1;
    private long _connects;
    private bool _readyRaised;
    private volatile bool _jetStreamActive;
    private int _disposed;

    public NatsTransport(TransportOptions options, NatsOptions natsOptions, BrokerAddress address, TopicScheme topics,
        string component, string clientId, ILogger logger)
    {
        _options = options;
        _address = address;
        _topics = topics;
        _component = component;
        _logger = logger;
        _presence = options.Presence
            ?? new Presence(topics.Status(component), StatusPayloads.Online, StatusPayloads.Offline);
        ClientId = clientId;
        _inboxPrefix = natsOptions.InboxPrefix ?? NatsUserScope.InboxPrefix(options.Username);
        if (!(_inboxPrefix == "_INBOX" || NatsSubjects.IsInbox(_inboxPrefix))
            || _inboxPrefix.IndexOfAny(['*', '>', ' ', '\t']) >= 0 || _inboxPrefix.EndsWith('.'))
        {
            throw new ArgumentException(
                $"Transport:Nats:InboxPrefix '{_inboxPrefix}' must be '_INBOX' or start with '_INBOX.', " +
                "without wildcards.",
                nameof(natsOptions));
        }
        _jetStream = natsOptions.JetStream;
        if (_jetStream is not null)
        {
            var prefix = TopicScheme.ToNatsSubject(topics.Prefix);
            var subjects = _jetStream.Subjects ?? NatsJetStreamOptions.DefaultSubjects(prefix);
            _stream = new StreamConfig(_jetStream.Stream, subjects.ToList())
            {
                Storage = StreamConfigStorage.File,
                MaxAge = _jetStream.MaxAge,
                MaxBytes = _jetStream.MaxBytes,
                Discard = StreamConfigDiscard.Old,
                // A source listed twice (configuration bound from two sections) would be consumed twice.
                Sources = _jetStream.Sources?.Distinct().Select(source => source.ToStreamSource()).ToList(),
            };
            if (_jetStream.RetainedStream is { Length: > 0 } retained)
            {
                var retainedSubjects = _jetStream.RetainedSubjects
                    ?? NatsJetStreamOptions.DefaultRetainedSubjects(prefix);
                _retainedStream = new StreamConfig(retained, retainedSubjects.ToList())
                {
                    Storage = StreamConfigStorage.File,
                    MaxMsgsPerSubject = 1,
                };
            }
        }
        if (_stream is not null) _storedSubjects.AddRange(_stream.Subjects!);
        if (_retainedStream is not null) _storedSubjects.AddRange(_retainedStream.Subjects!);
        _connection = new NatsConnection(BuildOpts());
        _js = new NatsJSContext(_connection);
        _connection.ConnectionOpened += (_, _) =>
        {
            Interlocked.Increment(ref _connects);
            SignalStateChange();
            return ValueTask.CompletedTask;
        };
        _connection.ConnectionDisconnected += (_, _) =>
        {
            Volatile.Write(ref _needsSetUp, 1);
            // Acknowledgements awaited on the dead link will never come: fail those attempts now, not at their
            // timeout. Cancelled off the client's event task, which the cancellation callbacks could otherwise hold up.
            var lost = Interlocked.Exchange(ref _linkLost, new CancellationTokenSource());
            _ = Task.Run(lost.Cancel);
            SignalStateChange();
            return ValueTask.CompletedTask;
        };
    }

    public string System => "nats";
    public string ClientId { get; }
    public bool IsConnected => _connection.ConnectionState == NatsConnectionState.Open;
    public event Action<bool>? ConnectionChanged;
    public event Action<RejectedMessage>? Rejected;

    /// <summary>Publishes dropped because the link was down (at-most-once only).</summary>
    public long DroppedWhileDisconnected => Interlocked.Read(ref _droppedWhileDisconnected);
    private long _droppedWhileDisconnected;

    /// <summary>Received messages dropped because their <c>Edge-Expires</c> time had passed.</summary>
    public long Expired => Interlocked.Read(ref _expired);
    private long _expired;

    /// <summary>True while the server has JetStream and the streams are in place (set at every connect).</summary>
    public bool JetStreamActive => _jetStreamActive;

    /// <summary>How many times the connection has been opened (1 after the first connect).</summary>
    public long Connects => Interlocked.Read(ref _connects);

    public Task ConnectAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _connectionLoop ??= Task.Run(() => ConnectionLoopAsync(_disposing.Token), CancellationToken.None);
        return _ready.Task.WaitAsync(ct);
    }

    private async Task ConnectionLoopAsync(CancellationToken ct)
    {
        var delay = _options.ReconnectMinDelay;
        while (true)
        {
            try
            {
                // RetryOnInitialConnect: this returns once the server is reached, however long that takes; it
                // throws only on what retrying at once will not fix (credentials refused, TLS failure).
                await _connection.ConnectAsync().AsTask().WaitAsync(ct);
                break;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning("Cannot connect to {Broker}: {Reason}; retrying in {Delay} ms",
                    _address, ex.Message, (int)delay.TotalMilliseconds);
                try { await Task.Delay(Jitter(delay), ct); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }
        }
        delay = _options.ReconnectMinDelay;
        while (!ct.IsCancellationRequested)
        {
            var changed = Volatile.Read(ref _stateChanged);
            if (_connection.ConnectionState != NatsConnectionState.Open)
            {
                MarkNotReady();
            }
            else if (Interlocked.Exchange(ref _needsSetUp, 0) == 1)
            {
                try
                {
                    await SetUpAsync(ct);
                    _logger.LogInformation("Connected to {Broker} as {ClientId} (JetStream: {JetStream})",
                        _address, ClientId, _jetStreamActive);
                    delay = _options.ReconnectMinDelay;
                    MarkReady();
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    Volatile.Write(ref _needsSetUp, 1);
                    _logger.LogWarning("Set-up after connecting to {Broker} failed: {Reason}; retrying in {Delay} ms",
                        _address, ex.Message, (int)delay.TotalMilliseconds);
                    try { await Task.Delay(Jitter(delay), ct); } catch (OperationCanceledException) { break; }
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
                    continue;
                }
            }
            try { await changed.Task.WaitAsync(ct); } catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Streams first (so at-least-once publishes find them), then the <c>online</c> status.</summary>
    private async Task SetUpAsync(CancellationToken ct)
    {
        _jetStreamActive = false;
        if (_stream is not null)
        {
            if (_connection.ServerInfo?.JetStreamAvailable == true)
            {
                await EnsureStreamAsync(_stream, ct);
                if (_retainedStream is not null) await EnsureStreamAsync(_retainedStream, ct);
                _jetStreamActive = true;
            }
            else
            {
                _logger.LogWarning(
                    "{Broker} has no JetStream: at-least-once falls back to publish + flush, " +
                    "durable subscriptions to core queue groups, and nothing is retained",
                    _address);
            }
        }
        await SendStatusAsync(_presence.Online, ct);
    }

    /// <summary>
    /// Retained (when the retained stream covers it) presence payload, by default <c>online</c>/<c>offline</c> on
    /// <c>{prefix}/status/{component}</c>.
    /// </summary>
    private Task SendStatusAsync(string state, CancellationToken ct)
    {
        var topic = _presence.Topic;
        var subject = NatsSubjects.ForTopic(topic);
        var stored = NatsSubjects.Covered(subject, _storedSubjects);
        return SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes(state))
        {
            ContentType = "text/plain", Retain = true, Delivery = Delivery.AtLeastOnce, MessageId = MessageId.New(),
        }, subject, stored, ct).AsTask();
    }

    private void MarkReady()
    {
        _ready.TrySetResult();
        if (_readyRaised) return;
        _readyRaised = true;
        ConnectionChanged?.Invoke(true);
    }

    private void MarkNotReady()
    {
        if (!_readyRaised) return;
        _readyRaised = false;
        _ready = NewSignal();
        _logger.LogWarning("Disconnected from {Broker}; NATS client reconnecting", _address);
        ConnectionChanged?.Invoke(false);
    }

    private Task WaitReadyAsync(CancellationToken ct) => Volatile.Read(ref _ready).Task.WaitAsync(ct);

    private void SignalStateChange() => Interlocked.Exchange(ref _stateChanged, NewSignal()).TrySetResult();

    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.5 + Random.Shared.NextDouble());

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NatsOpts BuildOpts()
    {
        var opts = NatsOpts.Default with
        {
            Url = $"{(_address.Tls ? "tls" : "nats")}://{_address.Host}:{_address.Port}",
            Name = ClientId,
            RetryOnInitialConnect = true,
            PingInterval = _options.KeepAlive,
            ReconnectWaitMin = _options.ReconnectMinDelay,
            ReconnectWaitMax = _options.ReconnectMaxDelay,
            ReconnectJitter = _options.ReconnectMinDelay,
            HeaderEncoding = Encoding.UTF8,
            // Per user, so permissions can keep other users from reading its replies and JetStream pulls.
            InboxPrefix = _inboxPrefix,
        };
        if (!string.IsNullOrEmpty(_options.Username))
        {
            var auth = NatsAuthOpts.Default with { Username = _options.Username, Password = _options.ReadPassword() };
            opts = opts with { AuthOpts = auth };
        }
        if (_address.Tls)
        {
            var tls = NatsTlsOpts.Default with { Mode = TlsMode.Require, CaFile = _options.CaFile };
            opts = opts with { TlsOpts = tls };
        }
        return opts;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_readyRaised && IsConnected)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendStatusAsync(_presence.Offline, timeout.Token);
            }
            catch (Exception ex)
            {
                _logger.LogDebug(ex, "Publishing offline status failed");
            }
        }
        await _disposing.CancelAsync();
        foreach (var subscription in _subscriptions.Keys) await subscription.DisposeAsync();
        if (_connectionLoop is not null) await _connectionLoop;
        await _connection.DisposeAsync();
        _disposing.Dispose();
    }
}
