using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>
    /// NATS request/reply: subscribes to a fresh <c>_INBOX.</c> subject, publishes the request with it as the
    /// response topic and returns the first reply. Throws <see cref="TimeoutException"/> when no reply comes in
    /// time, or at once when the server reports that nothing subscribes to a core subject.
    /// </summary>
    public async Task<ReceivedMessage> RequestAsync(OutgoingMessage request, TimeSpan timeout, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await WaitReadyAsync(deadline.Token);
            var inbox = _connection.NewInbox();
            await using var replies = await _connection.SubscribeCoreAsync(
                inbox, serializer: BytesSerializer, cancellationToken: deadline.Token);
            await PublishAsync(request with { ResponseTopic = inbox }, deadline.Token);
            await foreach (var reply in replies.Msgs.ReadAllAsync(deadline.Token))
            {
                if (reply.HasNoResponders)
                    throw new TimeoutException($"No reply on '{request.Topic}': nothing subscribes to it.");
                if (Accept(reply.Subject, reply.Data, reply.Headers, reply.ReplyTo, retained: false) is { } received)
                    return received;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
        throw new TimeoutException($"No reply on '{request.Topic}' within {timeout.TotalSeconds:0.#} s.");
    }
}
