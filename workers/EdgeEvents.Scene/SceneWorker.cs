using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene.HomeAssistant;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Scene;

/// <summary>
/// Detections in, scene out. Subscribes <c>{prefix}/detections/…</c> (QoS 1) for the cameras it owns, tracks each
/// camera, publishes events on <c>{prefix}/events/{camera}</c> (QoS 1) and the retained scene on
/// <c>{prefix}/scene/{camera}</c> (QoS 1, at most once per <see cref="SceneOptions.PublishInterval"/>, the latest
/// state always following, and again after every reconnect). Messages and the housekeeping tick (track expiry for
/// cameras that stopped sending, delayed scene publishes, history snapshots) take turns on one gate, so a camera's
/// state has one writer and its messages go out in order.
/// </summary>
public sealed class SceneWorker : BackgroundService
{
    /// <summary>
    /// Component name: the key of its <see cref="EdgeComponent"/>, its client id, status and error topics.
    /// </summary>
    public const string Component = "scene";

    // Bounds how late a rate-limited scene publish or a timer-driven track end can be.
    private static readonly TimeSpan HousekeepingPeriod = TimeSpan.FromMilliseconds(100);

    private readonly EdgeComponent _component;
    private readonly SceneOptions _options;
    private readonly CameraOwnership _ownership;
    private readonly ILogger _logger;
    private readonly DiscoveryPublisher? _homeAssistant;
    private readonly TimeSpan _retireAfter;
    private readonly Dictionary<string, CameraEntry> _cameras = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _republish;

    public SceneWorker([FromKeyedServices(Component)] EdgeComponent component, IOptions<SceneOptions> options,
        IOptions<HomeAssistantOptions> homeAssistant, ILogger<SceneWorker> logger)
    {
        _component = component;
        _options = options.Value;
        _ownership = new CameraOwnership(_options);
        _logger = logger;
        if (homeAssistant.Value.Enabled)
            _homeAssistant = new DiscoveryPublisher(component, homeAssistant.Value, logger);
        _retireAfter = homeAssistant.Value.RetireAfter;
        History = new SceneHistory(_options);
    }

    /// <summary>Recent events and snapshots per camera.</summary>
    public SceneHistory History { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var transport = _component.Transport;
        transport.ConnectionChanged += OnConnectionChanged;
        var subscriptions = new List<IMessageSubscription>();
        try
        {
            // With a camera list, one topic per camera; otherwise all cameras, those of other partitions ignored here.
            IEnumerable<string> filters = _options.Cameras.Length > 0
                ? _options.Cameras.Select(_component.Topics.Detections)
                : [_component.Topics.AllOf(TopicKind.Detections)];
            foreach (var filter in filters)
                subscriptions.Add(await transport.SubscribeAsync(
                    new SubscriptionRequest(filter) { Delivery = Delivery.AtLeastOnce }, stoppingToken));
            _logger.LogInformation("Scene worker tracking {Filters} (partition {Partition})",
                string.Join(", ", subscriptions.Select(s => s.Request.Filter)), _options.Partition);
            await Task.WhenAll(
                [.. subscriptions.Select(s => ConsumeAsync(s, stoppingToken)), HousekeepAsync(stoppingToken)]);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // The subscriptions are deliberately not disposed: that would unsubscribe, and the persistent session
            // would stop queueing detections for the next run. Disposing the transport ends them locally.
            transport.ConnectionChanged -= OnConnectionChanged;
            await PublishFinalStatesAsync();
        }
    }

    // The broker may have lost its retained messages (an embedded broker restarts empty): publish every scene again.
    private void OnConnectionChanged(bool connected)
    {
        if (connected) Interlocked.Exchange(ref _republish, 1);
    }

    private async Task ConsumeAsync(IMessageSubscription subscription, CancellationToken ct)
    {
        await foreach (var message in subscription.Messages.ReadAllAsync(ct))
        {
            await _gate.WaitAsync(ct);
            // A child of the detections' receive span, current while handling: the events and scene published for
            // these detections continue the frame's trace.
            using var span = EdgeTelemetry.StartProcessing(_component.Name, "track", message);
            try
            {
                await HandleAsync(message, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                span.Fail(ex);
                _component.Errors.Report(ErrorKinds.Internal, $"Processing detections failed: {ex.Message}",
                    message.Topic, message.Payload.Length);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private async Task HandleAsync(ReceivedMessage message, CancellationToken ct)
    {
        var (kind, camera) = _component.Topics.Parse(message.Topic);
        if (kind != TopicKind.Detections || camera is null || !TopicScheme.IsValidName(camera))
        {
            _component.Errors.Report(ErrorKinds.UnknownTopic, "Not a detections topic with a valid camera id.",
                message.Topic, message.Payload.Length);
            return;
        }
        if (!_ownership.Owns(camera)) return;

        DetectionSet detections;
        try
        {
            detections = MessageCodec.Deserialize<DetectionSet>(message.Payload, message.ContentType);
            Check(detections, camera);
        }
        catch (MessageFormatException ex)
        {
            _component.Errors.Report(ErrorKinds.MalformedPayload, ex.Message, message.Topic, message.Payload.Length,
                camera);
            return;
        }

        var entry = Entry(camera);
        if (_homeAssistant is not null) await _homeAssistant.CameraSeenAsync(camera, ct);
        var capturedAt = CorrectClock(detections, message);
        if (!entry.Scene.IsNewer(detections.FrameSequence, capturedAt))
        {
            _component.Errors.Report(ErrorKinds.OutOfOrder,
                $"Frame {detections.FrameSequence} (captured {capturedAt:O}) is not newer than frame " +
                $"{entry.Scene.Frame.Sequence} (captured {entry.Scene.Frame.CapturedAt:O}); dropped.",
                message.Topic, message.Payload.Length, camera);
            return;
        }
        var now = DateTimeOffset.UtcNow;
        entry.ProcessedAt = now;
        await PublishEventsAsync(entry.Scene.Apply(detections, capturedAt), ct);
        await PublishStateAsync(entry, now, ct);
    }

    /// <summary>Rejects what decoding accepts but tracking cannot use.</summary>
    private static void Check(DetectionSet detections, string camera)
    {
        if (detections.Camera != camera)
            throw new MessageFormatException(
                $"Camera '{detections.Camera}' in the payload does not match the topic's camera '{camera}'.");
        if (detections.Detections is null)
            throw new MessageFormatException("Detections list is missing.");
        foreach (var d in detections.Detections)
        {
            if (d is null || string.IsNullOrEmpty(d.Label))
                throw new MessageFormatException("A detection has no label.");
            if (!float.IsFinite(d.Confidence) || d.Confidence is < 0 or > 1)
                throw new MessageFormatException($"Detection '{d.Label}' has confidence {d.Confidence}, outside 0..1.");
            var b = d.Box;
            if (!(float.IsFinite(b.X1) && float.IsFinite(b.Y1) && float.IsFinite(b.X2) && float.IsFinite(b.Y2)) ||
                b.X2 < b.X1 || b.Y2 < b.Y1)
                throw new MessageFormatException(
                    $"Detection '{d.Label}' has an invalid box ({b.X1}, {b.Y1}, {b.X2}, {b.Y2}).");
        }
    }

    /// <summary>
    /// Replaces a capture time that is implausibly far from the reference clock (the earlier of the detector's
    /// creation time and the receive time) by that reference, the best estimate left. The reference is not the receive
    /// time alone: a backlog replayed from the persistent session after an outage arrives late but was created on
    /// time, and keeps its true capture times.
    /// </summary>
    private DateTimeOffset CorrectClock(DetectionSet detections, ReceivedMessage message)
    {
        var reference = detections.CreatedAt < message.ReceivedAt ? detections.CreatedAt : message.ReceivedAt;
        var skew = detections.CapturedAt - reference;
        if (skew.Duration() <= _options.MaxClockSkew) return detections.CapturedAt;
        _component.Errors.Report(ErrorKinds.ClockSkew,
            $"Capture time {detections.CapturedAt:O} is {skew.TotalSeconds:0.#} s off the detector/receiver clock; " +
            $"clamped to {reference:O}.",
            message.Topic, message.Payload.Length, detections.Camera);
        return reference;
    }

    private async Task HousekeepAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(HousekeepingPeriod);
        while (await timer.WaitForNextTickAsync(ct))
        {
            await _gate.WaitAsync(ct);
            try
            {
                await HousekeepOnceAsync(DateTimeOffset.UtcNow, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _component.Errors.Report(ErrorKinds.Internal, $"Scene housekeeping failed: {ex.Message}");
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private async Task HousekeepOnceAsync(DateTimeOffset now, CancellationToken ct)
    {
        var republish = Interlocked.Exchange(ref _republish, 0) == 1;
        if (republish && _homeAssistant is not null) await _homeAssistant.RepublishAsync(ct);
        foreach (var entry in _cameras.Values)
        {
            if (_homeAssistant is not null && now - entry.ProcessedAt > _retireAfter)
                await _homeAssistant.RetireAsync(entry.Scene.Camera, ct);
            // A camera that stopped sending: its capture clock runs on at wall-clock speed from its last frame.
            await PublishEventsAsync(entry.Scene.Expire(entry.Scene.Frame.CapturedAt + (now - entry.ProcessedAt)), ct);
            if (republish) entry.Republish = true;
            await PublishStateAsync(entry, now, ct);
            if (now - entry.SnapshotAt >= _options.SnapshotInterval)
            {
                History.AddSnapshot(entry.Scene.State());
                entry.SnapshotAt = now;
            }
        }
    }

    private async Task PublishEventsAsync(IReadOnlyList<SceneEvent> events, CancellationToken ct)
    {
        foreach (var sceneEvent in events)
        {
            var topic = _component.Topics.Events(sceneEvent.Camera);
            var payload = MessageCodec.Serialize(sceneEvent, PayloadFormat.Json);
            await _component.Transport.PublishAsync(new OutgoingMessage(topic, payload)
            {
                ContentType = ContentTypes.Json,
                Delivery = Delivery.AtLeastOnce,
                MessageId = sceneEvent.Id,
            }, ct);
            History.AddEvent(sceneEvent);
            if (_homeAssistant is not null && sceneEvent is { Type: SceneEventTypes.New, Label: { } label })
                await _homeAssistant.LabelSeenAsync(sceneEvent.Camera, label, ct);
            EdgeTelemetry.EventPublished(_component.Name, sceneEvent.Camera, sceneEvent.Type);
            _logger.LogDebug("{Type} {TrackId} {Label} on {Camera} [{Changes}]", sceneEvent.Type, sceneEvent.TrackId,
                sceneEvent.Label, sceneEvent.Camera, string.Join(",", sceneEvent.Changes));
        }
    }

    /// <summary>
    /// Publishes the retained scene if it changed and the rate limit allows, or if a reconnect asked for it.
    /// </summary>
    private async Task PublishStateAsync(CameraEntry entry, DateTimeOffset now, CancellationToken ct)
    {
        if (!entry.Republish && (!entry.Scene.Changed || now - entry.PublishedAt < _options.PublishInterval)) return;
        var state = entry.Scene.TakeState();
        entry.Republish = false;
        entry.PublishedAt = now;
        var payload = MessageCodec.Serialize(state, PayloadFormat.Json);
        await _component.Transport.PublishAsync(new OutgoingMessage(_component.Topics.Scene(state.Camera), payload)
        {
            ContentType = ContentTypes.Json,
            Delivery = Delivery.AtLeastOnce,
            Retain = true,
            MessageId = state.Id,
        }, ct);
    }

    /// <summary>
    /// On shutdown: the last changes held back by the rate limit still go out (briefly, if the broker is there).
    /// </summary>
    private async Task PublishFinalStatesAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            foreach (var entry in _cameras.Values.Where(e => e.Scene.Changed))
            {
                entry.Republish = true;
                await PublishStateAsync(entry, DateTimeOffset.UtcNow, timeout.Token);
            }
        }
        catch (Exception ex)
        {
            _logger.LogWarning("Final scene states not all published: {Reason}", ex.Message);
        }
    }

    private CameraEntry Entry(string camera)
    {
        if (_cameras.TryGetValue(camera, out var entry)) return entry;
        _logger.LogInformation("Tracking camera {Camera}", camera);
        return _cameras[camera] = new CameraEntry(new CameraScene(camera, _options))
        {
            SnapshotAt = DateTimeOffset.UtcNow,
        };
    }

    private sealed class CameraEntry(CameraScene scene)
    {
        public CameraScene Scene { get; } = scene;
        /// <summary>Wall-clock time the last frame was processed: drives expiry when frames stop.</summary>
        public DateTimeOffset ProcessedAt { get; set; }
        public DateTimeOffset PublishedAt { get; set; } = DateTimeOffset.MinValue;
        public DateTimeOffset SnapshotAt { get; set; }
        public bool Republish { get; set; }
    }
}
