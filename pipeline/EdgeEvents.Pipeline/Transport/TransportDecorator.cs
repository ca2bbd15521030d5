namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// A layer around another transport (tracing, outbox). It forwards what it does not change, so a layer states only
/// what it adds.
/// </summary>
public abstract class TransportDecorator(IMessageTransport inner) : IMessageTransport
{
    /// <summary>The wrapped transport.</summary>
    public IMessageTransport Inner { get; } = inner;

    public string System => Inner.System;
    public bool IsConnected => Inner.IsConnected;

    public event Action<bool>? ConnectionChanged
    {
        add => Inner.ConnectionChanged += value;
        remove => Inner.ConnectionChanged -= value;
    }

    public event Action<RejectedMessage>? Rejected
    {
        add => Inner.Rejected += value;
        remove => Inner.Rejected -= value;
    }

    public virtual Task ConnectAsync(CancellationToken ct) => Inner.ConnectAsync(ct);
    public abstract ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct);
    public virtual Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request, CancellationToken ct) =>
        Inner.SubscribeAsync(request, ct);
    public virtual Task<ReceivedMessage> RequestAsync(
        OutgoingMessage request, TimeSpan timeout, CancellationToken ct) => Inner.RequestAsync(request, timeout, ct);
    public abstract ValueTask DisposeAsync();

    /// <summary>The outermost layer of type <typeparamref name="T"/> in a chain of decorators, or null.</summary>
    public static T? Find<T>(IMessageTransport transport) where T : class, IMessageTransport
    {
        for (var layer = transport; layer is not null; layer = (layer as TransportDecorator)?.Inner)
            if (layer is T found) return found;
        return null;
    }
}
