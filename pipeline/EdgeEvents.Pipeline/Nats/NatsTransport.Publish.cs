using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    internal const string ContentTypeHeader = "Content-Type";
    internal const string MessageIdHeader = "Nats-Msg-Id";
    /// <summary>
    /// Absolute UTC expiry (ISO 8601); receivers drop the message after it. NATS has no message expiry of its own.
    /// </summary>
    internal const string ExpiresHeader = "Edge-Expires";
    /// <summary>
    /// Response topic. JetStream keeps no reply subject (the publish's reply is its acknowledgement), so it travels
    /// as a header; core publishes also set it as the NATS reply subject for stock NATS responders.
    /// </summary>
    internal const string ReplyToHeader = "Edge-Reply-To";
    /// <summary>MQTT 5 correlation data, base64.</summary>
    internal const string CorrelationHeader = "Edge-Correlation-Data";

    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> PayloadSerializer =
        NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    /// <summary>
    /// At-most-once: core publish, dropped and counted while disconnected. At-least-once: on a subject a
    /// JetStream stream stores, a JetStream publish that waits for the stream's acknowledgement (de-duplicated on
    /// <c>Nats-Msg-Id</c>); elsewhere a core publish followed by a ping, which returns once the server has
    /// processed it. Either is repeated after a reconnect until it succeeds or <paramref name="ct"/> is cancelled.
    /// </summary>
    public ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var subject = NatsSubjects.ForTopic(message.Topic);
        if (message.Delivery == Delivery.AtLeastOnce)
            return new ValueTask(PublishReliablyAsync(message, subject, ct));
        if (!IsConnected)
        {
            Interlocked.Increment(ref _droppedWhileDisconnected);
            EdgeTelemetry.TransportDropped(System, "disconnected");
            return ValueTask.CompletedTask;
        }
        return _connection.PublishAsync(subject, message.Payload, ToHeaders(message), ReplySubject(message),
            PayloadSerializer, cancellationToken: ct);
    }

    // A Task, not an async ValueTask: callers that need a Task (Task.WhenAll of a publish window) get it without a
    // wrapper.
    private async Task PublishReliablyAsync(OutgoingMessage message, string subject, CancellationToken ct)
    {
        var stored = NatsSubjects.Covered(subject, _storedSubjects);
        // One id for every attempt, so JetStream drops the copies a retry may create.
        if (stored && message.MessageId is null)
            message = message with { MessageId = Contracts.Messages.MessageId.New() };
        while (true)
        {
            await WaitReadyAsync(ct);
            try
            {
                await SendAsync(message, subject, stored, ct);
                return;
            }
            catch (Exception ex)
                when ((IsTransient(ex) || ex is OperationCanceledException) && !ct.IsCancellationRequested)
            {
                _logger.LogDebug("Publish to {Topic} failed ({Reason}); sending again", message.Topic, ex.Message);
                await Task.Delay(Jitter(_options.ReconnectMinDelay), ct);
            }
        }
    }

    /// <summary>
    /// One at-least-once attempt, without waiting for the transport to be ready (the set-up uses it).
    /// <paramref name="stored"/>: a stream of ours stores <paramref name="subject"/>.
    /// </summary>
    private ValueTask SendAsync(OutgoingMessage message, string subject, bool stored, CancellationToken ct) =>
        stored && _jetStreamActive
            ? new ValueTask(SendToStreamAsync(message, subject, ct))
            : SendConfirmedAsync(message, subject, ct);

    private async Task SendToStreamAsync(OutgoingMessage message, string subject, CancellationToken ct)
    {
        // An acknowledgement awaited on a dead link never comes: give up on it when the link drops, not at its timeout.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct, Volatile.Read(ref _linkLost).Token);
        try
        {
            // The Nats-Msg-Id header set by ToHeaders is what JetStream de-duplicates on.
            var ack = await _js.PublishAsync(subject, message.Payload, PayloadSerializer,
                headers: ToHeaders(message), cancellationToken: attempt.Token);
            ack.EnsureSuccess();
        }
        catch (NatsJSDuplicateMessageException)
        {
            // An earlier attempt was stored; its acknowledgement was lost with the link.
        }
    }

    /// <summary>
    /// A core publish followed by a ping: the pong comes after the server has processed the publish; a pong from a new
    /// connection means the publish may have died in the old socket's buffer, so it throws to have it sent again.
    /// </summary>
    // Pooled: this runs once per at-least-once core publish, and its await on the pong always completes later.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendConfirmedAsync(OutgoingMessage message, string subject, CancellationToken ct)
    {
        var server = _connection.ServerInfo;
        await _connection.PublishAsync(subject, message.Payload, ToHeaders(message), ReplySubject(message),
            PayloadSerializer, cancellationToken: ct);
        await _connection.PingAsync(ct);
        if (!ReferenceEquals(server, _connection.ServerInfo))
            throw new NatsException($"Reconnected while publishing to '{subject}'.");
    }

    private static string? ReplySubject(OutgoingMessage message) =>
        message.ResponseTopic is { } reply ? NatsSubjects.ForTopic(reply) : null;

    /// <summary>
    /// Link trouble worth another attempt; refusals by the server (API errors, payload too large) are not.
    /// </summary>
    private static bool IsTransient(Exception ex) =>
        ex is (NatsException or TimeoutException) and not NatsJSApiException and not NatsPayloadTooLargeException;

    private static NatsHeaders? ToHeaders(OutgoingMessage message)
    {
        NatsHeaders? headers = null;
        void Set(string name, string value) => (headers ??= new NatsHeaders())[name] = value;

        if (message.ContentType is not null) Set(ContentTypeHeader, message.ContentType);
        if (message.MessageId is not null) Set(MessageIdHeader, message.MessageId);
        if (message.Expiry is { } expiry)
            Set(ExpiresHeader, DateTimeOffset.UtcNow.Add(expiry).ToString("O", CultureInfo.InvariantCulture));
        if (message.ResponseTopic is not null) Set(ReplyToHeader, message.ResponseTopic);
        if (!message.CorrelationData.IsEmpty)
            Set(CorrelationHeader, Convert.ToBase64String(message.CorrelationData.Span));
        if (message.Headers is not null)
            foreach (var (name, value) in message.Headers) Set(name, value);
        return headers;
    }
}
