using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Pipeline.Reliability;

/// <summary>
/// Store-and-forward for at-least-once publications. <see cref="PublishAsync"/> writes the message to a crash-safe
/// SQLite outbox and returns; one sender loop publishes the outbox in order through the inner transport and deletes
/// what the broker acknowledged. So a publish is never lost to a broker outage, a cut link or a process kill, and
/// the caller never waits for the network. At-most-once messages (frames) and requests bypass the outbox.
/// </summary>
/// <remarks>
/// A message may be sent twice (acknowledgement lost, or a kill between the broker's ack and the delete); consumers
/// de-duplicate on <see cref="OutgoingMessage.MessageId"/>, which the outbox assigns when the caller did not.
/// </remarks>
public sealed class OutboxTransport : TransportDecorator
{
    private const int BatchSize = 100;

    private readonly OutboxStore _store;
    private readonly OutboxOptions _options;
    private readonly TopicScheme _topics;
    private readonly string _component;
    private readonly ILogger _logger;
    private readonly IDisposable _sizeGauge;
    private readonly Channel<bool> _wake =
        Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _linkUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _sender;
    private long _dropped;
    private long _expired;
    private long _givenUp;
    private long _sent;
    private int _disposed;

    private OutboxTransport(IMessageTransport inner, OutboxStore store, OutboxOptions options, TopicScheme topics,
        string component, ILogger logger) : base(inner)
    {
        _store = store;
        _options = options;
        _topics = topics;
        _component = component;
        _logger = logger;
        _sizeGauge = EdgeTelemetry.ObserveOutboxSize(component, () => store.Count);
        Inner.ConnectionChanged += OnConnectionChanged;
    }

    private void OnConnectionChanged(bool up)
    {
        if (up) _linkUp.TrySetResult();
        else if (_linkUp.Task.IsCompleted)
            Interlocked.Exchange(ref _linkUp, new(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    /// <summary>
    /// Opens (or creates) the component's outbox file and wraps <paramref name="inner"/>. Messages left by a previous
    /// run are sent after connecting.
    /// </summary>
    public static OutboxTransport Open(IMessageTransport inner, OutboxOptions options, TopicScheme topics,
        string component, ILogger logger)
    {
        var path = options.ResolvePath(component);
        var store = OutboxStore.Open(path, options);
        if (store.Count > 0)
            logger.LogInformation("Outbox {Path} holds {Count} messages ({Bytes} bytes) from a previous run; " +
                "sending them once connected", path, store.Count, store.Bytes);
        return new OutboxTransport(inner, store, options, topics, component, logger);
    }

    /// <summary>Messages waiting in the outbox (for metrics and readiness).</summary>
    public long Pending => _store.Count;
    /// <summary>Payload bytes waiting in the outbox.</summary>
    public long PendingBytes => _store.Bytes;
    /// <summary>Oldest messages dropped because the outbox was full, since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Messages whose expiry passed while they waited, since start.</summary>
    public long Expired => Interlocked.Read(ref _expired);
    /// <summary>
    /// Messages given up after <see cref="OutboxOptions.MaxAttempts"/> failures with the link up (e.g. refused by the
    /// broker's ACL).
    /// </summary>
    public long GivenUp => Interlocked.Read(ref _givenUp);
    /// <summary>Messages the broker acknowledged, since start.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public override Task ConnectAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _sender ??= Task.Run(() => SendLoopAsync(_stop.Token), CancellationToken.None);
        return Inner.ConnectAsync(ct);
    }

    /// <summary>
    /// At-least-once: durable in the outbox when this returns (the broker gets it later). At-most-once:
    /// straight through.
    /// </summary>
    public override ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (message.Delivery == Delivery.AtMostOnce) return Inner.PublishAsync(message, ct);
        ct.ThrowIfCancellationRequested();
        var expiresAt = message.Expiry is { } expiry ? DateTimeOffset.UtcNow + expiry : (DateTimeOffset?)null;
        var dropped = _store.Append(message with { MessageId = message.MessageId ?? MessageId.New() }, expiresAt);
        if (dropped > 0)
        {
            Interlocked.Add(ref _dropped, dropped);
            EdgeTelemetry.MessagesDropped.Add(dropped,
                new KeyValuePair<string, object?>("messaging.system", System),
                new KeyValuePair<string, object?>("reason", "outbox_overflow"));
        }
        _wake.Writer.TryWrite(true);
        return ValueTask.CompletedTask;
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        long lastSent = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var batch = _store.ReadAfter(lastSent, BatchSize);
                if (batch.Count == 0)
                {
                    await _wake.Reader.WaitToReadAsync(ct);
                    _wake.Reader.TryRead(out _);
                    continue;
                }
                foreach (var entry in batch)
                {
                    await SendAsync(entry, ct);
                    lastSent = entry.Sequence;
                }
                _store.RemoveThrough(lastSent);
                if (_store.UnreportedDrops > 0) await ReportDropsAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "Outbox sender of {Component} stopped; {Pending} messages stay on disk for the " +
                "next start", _component, Pending);
        }
    }

    private async Task SendAsync(OutboxEntry entry, CancellationToken ct)
    {
        var message = entry.Message;
        var delay = TimeSpan.FromMilliseconds(100);
        for (var failures = 0; ;)
        {
            // Wait for the link here, not inside the inner publish, so overflow drops and expiry are
            // judged at send time.
            if (!Inner.IsConnected) await _linkUp.Task.WaitAsync(ct);
            if (entry.Sequence <= _store.DroppedThrough) return;
            if (entry.ExpiresAt is { } expiresAt)
            {
                var remaining = expiresAt - DateTimeOffset.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    Interlocked.Increment(ref _expired);
                    return;
                }
                message = message with { Expiry = remaining };
            }
            try
            {
                await Inner.PublishAsync(message, ct);
                Interlocked.Increment(ref _sent);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Failures while disconnected are the outage itself; only failures with the link up
                // count towards giving up.
                if (Inner.IsConnected && ++failures >= _options.MaxAttempts)
                {
                    Interlocked.Increment(ref _givenUp);
                    _logger.LogError(ex, "Outbox gave up message {MessageId} on {Topic} after {Attempts} attempts",
                        message.MessageId, message.Topic, failures);
                    return;
                }
                _logger.LogWarning("Outbox publish of {MessageId} on {Topic} failed ({Reason}); retrying in {Delay} ms",
                    message.MessageId, message.Topic, ex.Message, (int)delay.TotalMilliseconds);
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// Once the link carries messages again, says on the error topic how many the full outbox dropped.
    /// </summary>
    private async Task ReportDropsAsync(CancellationToken ct)
    {
        var drops = _store.UnreportedDrops;
        var error = new ErrorEvent
        {
            Component = _component,
            Kind = ErrorKinds.OutboxOverflow,
            Message = $"The outbox was full ({_options.MaxMessages} messages / {_options.MaxBytes} bytes) while " +
                $"the broker was unreachable: {drops} oldest messages were dropped.",
        };
        try
        {
            var payload = MessageCodec.Serialize(error, PayloadFormat.Json);
            await Inner.PublishAsync(new OutgoingMessage(_topics.Errors(_component), payload)
            {
                ContentType = ContentTypes.Json, Delivery = Delivery.AtLeastOnce, MessageId = error.Id,
            }, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Stays unreported (it is counted on disk): the next drained batch tries again.
            _logger.LogWarning("Could not report the outbox overflow yet: {Reason}", ex.Message);
            return;
        }
        _store.MarkDropsReported(drops);
        _logger.LogWarning("Outbox of {Component} dropped {Count} messages while full; reported on {Topic}",
            _component, drops, _topics.Errors(_component));
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Inner.ConnectionChanged -= OnConnectionChanged;
        if (_sender is not null)
        {
            var deadline = DateTime.UtcNow + _options.DrainOnDispose;
            while (_store.Count > 0 && Inner.IsConnected && DateTime.UtcNow < deadline) await Task.Delay(20);
            await _stop.CancelAsync();
            await _sender;
        }
        if (_store.Count > 0)
            _logger.LogInformation("Outbox of {Component} keeps {Count} unsent messages for the next start",
                _component, _store.Count);
        _sizeGauge.Dispose();
        _store.Dispose();
        await Inner.DisposeAsync();
        _stop.Dispose();
    }
}
