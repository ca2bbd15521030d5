using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// Wraps every transport (see <see cref="TransportFactory"/>) with tracing and transport-level metrics.
/// <list type="bullet">
/// <item>Publish: a Producer span <c>publish {topic}</c>, child of the current span (or of the trace the message
/// already carries), whose W3C context is injected into the message headers.</item>
/// <item>Receive: a Consumer span <c>receive {topic}</c>, child of the producer's context, created when the subscriber
/// takes the message off the subscription's channel. It starts when the transport received the message, so its length
/// is the time spent queued. The subscriber gets the message with <c>traceparent</c> pointing at this span, so
/// <see cref="EdgeTelemetry.StartProcessing"/> makes the worker's span its child: publish → receive → process →
/// publish … form one chain across components.</item>
/// <item>Metrics: <c>edge.messages.published/received{component, topic}</c>,
/// <c>edge.frames.received{component, camera}</c>, <c>edge.broker.connected</c>, <c>edge.broker.disconnects</c> and
/// <c>edge.queue.depth</c> of each subscription.</item>
/// </list>
/// Another decorator that stores messages for later sending (an outbox) belongs inside this one, so the trace context
/// is in the headers before the message is stored.
/// </summary>
public sealed class TracingTransport : TransportDecorator
{
    private static readonly string[] TopicClasses =
        [.. Enum.GetValues<TopicKind>().Select(k => k.ToString().ToLowerInvariant())];

    private readonly string _component;
    private readonly TopicScheme _topics;
    private readonly ActivitySource _source;
    private readonly IDisposable _connectedGauge;

    public TracingTransport(IMessageTransport inner, string component, TopicScheme topics) : base(inner)
    {
        _component = component;
        _topics = topics;
        _source = EdgeTelemetry.Source(component);
        _connectedGauge = EdgeTelemetry.BrokerConnected.Observe(() => inner.IsConnected ? 1 : 0,
            new TagList
            {
                { EdgeTelemetry.Tags.Component, component }, { EdgeTelemetry.Tags.MessagingSystem, inner.System },
            });
        Inner.ConnectionChanged += OnConnectionChanged;
    }

    public override ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct)
    {
        // Nobody tracing or counting: hand the inner publish straight back, without a state machine of ours around
        // every message (with 64 publishes in flight the pool below cannot keep them, so each cost an allocation).
        if (!_source.HasListeners() && !EdgeTelemetry.MessagesPublished.Enabled)
            return Inner.PublishAsync(WithTraceContext(message, null), ct);
        return PublishTracedAsync(message, ct);
    }

    // Pooled: one per publish of every component, usually completing later (an acknowledgement or a pong).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PublishTracedAsync(OutgoingMessage message, CancellationToken ct)
    {
        using var activity = StartProducer("publish", message);
        try
        {
            await Inner.PublishAsync(WithTraceContext(message, activity), ct);
        }
        catch (Exception ex)
        {
            Fail(activity, ex);
            throw;
        }
        Count(EdgeTelemetry.MessagesPublished, message.Topic);
    }

    public override async Task<ReceivedMessage> RequestAsync(OutgoingMessage request, TimeSpan timeout,
        CancellationToken ct)
    {
        // One span over the round trip; the responder's spans hang below it through the injected context.
        using var activity = StartProducer("request", request);
        try
        {
            var reply = await Inner.RequestAsync(WithTraceContext(request, activity), timeout, ct);
            Count(EdgeTelemetry.MessagesPublished, request.Topic);
            return reply;
        }
        catch (Exception ex)
        {
            Fail(activity, ex);
            throw;
        }
    }

    public override async Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request,
        CancellationToken ct) =>
        new TracingSubscription(this, await Inner.SubscribeAsync(request, ct));

    private Activity? StartProducer(string operation, OutgoingMessage message)
    {
        if (!_source.HasListeners()) return null;
        // Without a current span, continue the trace the message already carries (a forwarded message).
        var parent = Activity.Current is null ? TraceContext.Extract(message.Headers) : default;
        var activity = _source.StartActivity($"{operation} {message.Topic}", ActivityKind.Producer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(MessagingTags.System, Inner.System);
            activity.SetTag(MessagingTags.Operation, MessagingTags.Publish);
            activity.SetTag(MessagingTags.DestinationName, message.Topic);
            activity.SetTag(MessagingTags.BodySize, message.Payload.Length);
            if (message.MessageId is not null) activity.SetTag(MessagingTags.MessageId, message.MessageId);
        }
        return activity;
    }

    private static OutgoingMessage WithTraceContext(OutgoingMessage message, Activity? activity)
    {
        // No span of ours (tracing off): still pass on whatever span is current, so the chain is not cut here.
        var context = activity ?? Activity.Current;
        return context is null ? message : message with { Headers = TraceContext.Inject(context, message.Headers) };
    }

    private static void Fail(Activity? activity, Exception ex)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, ex.Message);
        activity.AddException(ex);
    }

    /// <summary>Counts and traces one message as the subscriber takes it.</summary>
    private ReceivedMessage OnReceived(ReceivedMessage message, SubscriptionRequest request)
    {
        if (EdgeTelemetry.MessagesReceived.Enabled || EdgeTelemetry.FramesReceived.Enabled)
        {
            var (kind, name) = Count(EdgeTelemetry.MessagesReceived, message.Topic);
            if (kind == TopicKind.Frames && name is not null)
                EdgeTelemetry.FramesReceived.Add(1, new TagList
                {
                    { EdgeTelemetry.Tags.Component, _component },
                    { EdgeTelemetry.Tags.Camera, CameraLabels.Of(_component, name) },
                });
        }
        if (!_source.HasListeners()) return message;

        using var activity = _source.StartActivity(ActivityKind.Consumer, TraceContext.Extract(message.Headers),
            startTime: message.ReceivedAt, name: $"receive {message.Topic}");
        if (activity is null) return message;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(MessagingTags.System, Inner.System);
            activity.SetTag(MessagingTags.Operation, MessagingTags.Receive);
            activity.SetTag(MessagingTags.DestinationName, message.Topic);
            activity.SetTag(MessagingTags.BodySize, message.Payload.Length);
            if (message.MessageId is not null) activity.SetTag(MessagingTags.MessageId, message.MessageId);
            if (request.Group is not null) activity.SetTag(MessagingTags.ConsumerGroup, request.Group);
        }
        return message with
        {
            Headers = TraceContext.Inject(activity, message.Headers) ?? ReceivedMessage.EmptyHeaders,
        };
    }

    private (TopicKind Kind, string? Name) Count(System.Diagnostics.Metrics.Counter<long> counter, string topic)
    {
        if (!counter.Enabled) return (TopicKind.Unknown, null);
        var parsed = _topics.Parse(topic);
        counter.Add(1, new TagList
        {
            { EdgeTelemetry.Tags.Component, _component }, { EdgeTelemetry.Tags.Topic, TopicClasses[(int)parsed.Kind] },
        });
        return parsed;
    }

    private void OnConnectionChanged(bool connected)
    {
        if (!connected)
            EdgeTelemetry.BrokerDisconnects.Add(1, new TagList
            {
                { EdgeTelemetry.Tags.Component, _component }, { EdgeTelemetry.Tags.MessagingSystem, Inner.System },
            });
    }

    public override async ValueTask DisposeAsync()
    {
        _connectedGauge.Dispose();
        Inner.ConnectionChanged -= OnConnectionChanged;
        await Inner.DisposeAsync();
    }

    /// <summary>
    /// The inner subscription, read through a <see cref="TracingReader"/>; reports its queue depth while open.
    /// </summary>
    private sealed class TracingSubscription : IMessageSubscription
    {
        private readonly IMessageSubscription _inner;
        private readonly IDisposable? _depthGauge;

        public TracingSubscription(TracingTransport owner, IMessageSubscription inner)
        {
            _inner = inner;
            Messages = new TracingReader(inner.Messages, m => owner.OnReceived(m, inner.Request));
            if (inner.Messages.CanCount)
                _depthGauge = EdgeTelemetry.ObserveQueueDepth(owner._component, inner.Request.Filter,
                    () => inner.Messages.Count);
        }

        public SubscriptionRequest Request => _inner.Request;
        public ChannelReader<ReceivedMessage> Messages { get; }
        public long Dropped => _inner.Dropped;
        public long Duplicates => _inner.Duplicates;

        public ValueTask DisposeAsync()
        {
            _depthGauge?.Dispose();
            return _inner.DisposeAsync();
        }
    }

    /// <summary>
    /// A channel reader that hands each message through <paramref name="onRead"/> as it is taken. The base class builds
    /// <c>ReadAsync</c> and <c>ReadAllAsync</c> on <see cref="TryRead"/>, so every way of reading passes through it.
    /// </summary>
    private sealed class TracingReader(
        ChannelReader<ReceivedMessage> inner, Func<ReceivedMessage, ReceivedMessage> onRead)
        : ChannelReader<ReceivedMessage>
    {
        public override Task Completion => inner.Completion;
        public override bool CanCount => inner.CanCount;
        public override int Count => inner.Count;
        public override bool CanPeek => inner.CanPeek;

        public override bool TryRead(out ReceivedMessage item)
        {
            if (inner.TryRead(out var message))
            {
                item = onRead(message);
                return true;
            }
            item = null!;
            return false;
        }

        public override bool TryPeek(out ReceivedMessage item) => inner.TryPeek(out item!);

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            inner.WaitToReadAsync(cancellationToken);
    }
}
