using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Llm.Scene;

/// <summary>
/// Feeds the worker's <see cref="SceneContext"/> from the retained scene states and the events of its
/// <see cref="SceneSource"/> (the site's own cameras, or every site's at a hub), and remembers the trace context of
/// each camera's latest state so an answer can link to the states it used.
/// </summary>
internal sealed class SceneIngestion(EdgeComponent component, SceneSource source, int recentEvents)
{
    private readonly SceneContext _scene = new(recentEvents);
    private readonly Lock _lock = new();
    // Trace context of the latest scene state applied per camera (under _lock).
    private readonly Dictionary<string, ActivityContext> _traces = new(StringComparer.Ordinal);
    private IMessageSubscription? _states;
    private IMessageSubscription? _events;

    public SceneContext Scene => _scene;

    /// <summary>
    /// Subscribes at QoS 0: a newer state supersedes a lost one, and unacknowledged questions (QoS 1) must not fill the
    /// broker's in-flight window for this client (mosquitto: 20) and stall the scene behind them.
    /// </summary>
    public async Task SubscribeAsync(CancellationToken ct)
    {
        _states = await component.Transport.SubscribeAsync(new SubscriptionRequest(source.StatesFilter)
        {
            Delivery = Delivery.AtMostOnce, Overload = OverloadPolicy.DropOldest,
        }, ct);
        _events = await component.Transport.SubscribeAsync(new SubscriptionRequest(source.EventsFilter)
        {
            Delivery = Delivery.AtMostOnce, Overload = OverloadPolicy.DropOldest,
        }, ct);
    }

    /// <summary>Applies scene messages as they come, until <paramref name="ct"/> ends.</summary>
    public Task[] ReadAsync(CancellationToken ct) => [ReadAsync(_states!, ct), ReadAsync(_events!, ct)];

    /// <summary>
    /// Whoever applies scene messages holds the lock while reading, so <see cref="Drain"/> (called before each
    /// question) returns only once everything queued so far is applied.
    /// </summary>
    private async Task ReadAsync(IMessageSubscription subscription, CancellationToken ct)
    {
        while (await subscription.Messages.WaitToReadAsync(ct)) Drain();
    }

    /// <summary>Applies every scene message received so far.</summary>
    public void Drain()
    {
        lock (_lock)
        {
            while (_states!.Messages.TryRead(out var message)) ApplyState(message);
            while (_events!.Messages.TryRead(out var message)) ApplyEvent(message);
        }
    }

    /// <summary>Links a span to the latest scene state (its receive span) of each camera an answer used.</summary>
    public void LinkStates(StageScope span, IReadOnlyList<CameraSnapshot> cameras)
    {
        if (span.Activity is null) return;
        lock (_lock)
        {
            foreach (var camera in cameras)
                if (_traces.TryGetValue(camera.Camera, out var context)) span.AddLink(context);
        }
    }

    private void ApplyState(ReceivedMessage message)
    {
        var camera = source.CameraOf(message.Topic);
        if (camera is null) return;
        if (message.Payload.IsEmpty)
        {
            _scene.ClearState(camera);
            _traces.Remove(camera);
            return;
        }
        try
        {
            var state = MessageCodec.Deserialize<SceneState>(message.Payload, message.ContentType).Validated();
            _scene.Apply(state with { Camera = camera });
            var context = EdgeTelemetry.ContextOf(message);
            if (context != default) _traces[camera] = context;
        }
        catch (MessageFormatException ex)
        {
            component.Errors.Report(
                ErrorKinds.MalformedPayload, ex.Message, message.Topic, message.Payload.Length, camera);
        }
    }

    private void ApplyEvent(ReceivedMessage message)
    {
        var camera = source.CameraOf(message.Topic);
        if (camera is null) return;
        try
        {
            var sceneEvent = MessageCodec.Deserialize<SceneEvent>(message.Payload, message.ContentType).Validated();
            _scene.Apply(sceneEvent with { Camera = camera });
        }
        catch (MessageFormatException ex)
        {
            component.Errors.Report(
                ErrorKinds.MalformedPayload, ex.Message, message.Topic, message.Payload.Length, camera);
        }
    }
}
