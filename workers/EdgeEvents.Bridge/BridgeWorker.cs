using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Bridge;

/// <summary>
/// Joins a site's broker to the hub. Up: events, scene, status (with the detectors' model states), errors, stats,
/// answers and (throttled) snapshots, plus frames and detections when configured, each acknowledged to the local broker
/// only once the hub side's outbox has committed it, so a killed bridge loses nothing (the persistent local session
/// redelivers what was not yet in the outbox, the outbox resends what the hub had not acknowledged). Down: questions to
/// the site and <c>control/#</c>, acknowledged at the hub once the local broker has them. The hub sees the link on
/// retained <c>sites/{site}/link</c>: <c>1</c> at every connect, <c>0</c> on a clean stop and (MQTT) as the last will.
/// </summary>
public sealed class BridgeWorker : BackgroundService
{
    /// <summary>
    /// Component name: the key of its <see cref="EdgeComponent"/>, its client id, status and error topics.
    /// </summary>
    public const string Component = "bridge";

    private readonly EdgeComponent _local;
    private readonly BridgeOptions _options;
    private readonly SiteMapping _mapping;
    private readonly IMessageTransport _hub;
    private readonly ILogger _logger;
    private long _up;
    private long _down;
    private long _snapshotsSkipped;

    public BridgeWorker(
        [FromKeyedServices(Component)] EdgeComponent local, IOptions<BridgeOptions> options, ILoggerFactory loggers)
    {
        _local = local;
        _options = options.Value;
        _mapping = new SiteMapping(_options.Site, local.Topics);
        _logger = loggers.CreateLogger<BridgeWorker>();
        _hub = TransportFactory.Create(_options.HubTransport(local.Topics.Prefix), Component, loggers);
    }

    /// <summary>Messages handed to the hub side (committed to its outbox, or sent at most once) since start.</summary>
    public long ForwardedUp => Interlocked.Read(ref _up);
    /// <summary>Hub messages published at the site since start.</summary>
    public long ForwardedDown => Interlocked.Read(ref _down);
    /// <summary>Snapshots held back by <see cref="BridgeOptions.SnapshotInterval"/> since start.</summary>
    public long SnapshotsSkipped => Interlocked.Read(ref _snapshotsSkipped);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _hub.ConnectionChanged += OnHubConnectionChanged;
        try
        {
            _ = _hub.ConnectAsync(CancellationToken.None);
            var pumps = new List<Task>();
            foreach (var (kind, delivery) in UpKinds())
            {
                // Answers: also the anonymous asker's topic and reply levels (SiteMapping). Status: also the detectors'
                // model states (status/detector/{clientId}/model), which the hub's fleet view shows.
                var filter = kind switch
                {
                    TopicKind.Answers => $"{_local.Topics.Answers()}/#",
                    TopicKind.Status => $"{_local.Topics.Prefix}/status/#",
                    _ => _local.Topics.AllOf(kind),
                };
                var subscription = await _local.Transport.SubscribeAsync(new SubscriptionRequest(filter)
                {
                    Delivery = delivery,
                    ManualAck = delivery == Delivery.AtLeastOnce,
                    Overload = delivery == Delivery.AtLeastOnce ? OverloadPolicy.Wait : OverloadPolicy.DropOldest,
                    RetainAsPublished = true,
                    // Forward every copy: the hub's consumers de-duplicate, and a copy held back here could be the one
                    // that gets through.
                    Deduplicate = false,
                }, stoppingToken);
                var throttle = kind == TopicKind.Snapshots && _options.SnapshotInterval > TimeSpan.Zero
                    ? new SnapshotThrottle(_options.SnapshotInterval)
                    : null;
                pumps.Add(PumpUpAsync(subscription, delivery, throttle, stoppingToken));
            }
            var downFilters = new[] { _mapping.Hub.AllOf(TopicKind.Questions), $"{_mapping.Hub.Prefix}/control/#" };
            foreach (var filter in downFilters)
            {
                var subscription = await _hub.SubscribeAsync(new SubscriptionRequest(filter)
                {
                    ManualAck = true,
                    RetainAsPublished = true,
                    // NATS hub: questions asked while the site is away wait in the site's stream for this consumer.
                    Durable = filter.EndsWith("/control/#", StringComparison.Ordinal)
                        ? null
                        : $"bridge-{_mapping.Site}",
                }, stoppingToken);
                pumps.Add(PumpDownAsync(subscription, stoppingToken));
            }
            _logger.LogInformation("Bridge of site {Site}: {Local} <-> {Hub} ({HubPrefix}/...)",
                _mapping.Site, _local.Topics.Prefix, _options.Hub.Broker, _mapping.Hub.Prefix);
            await Task.WhenAll(pumps);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Subscriptions stay (persistent sessions keep queueing for the next run); the hub side drains its outbox
            // briefly, keeps the rest on disk and says link 0.
            _hub.ConnectionChanged -= OnHubConnectionChanged;
            await _hub.DisposeAsync();
        }
    }

    private IEnumerable<(TopicKind Kind, Delivery Delivery)> UpKinds()
    {
        yield return (TopicKind.Events, Delivery.AtLeastOnce);
        yield return (TopicKind.Scene, Delivery.AtLeastOnce);
        yield return (TopicKind.Status, Delivery.AtLeastOnce);
        yield return (TopicKind.Errors, Delivery.AtLeastOnce);
        yield return (TopicKind.Stats, Delivery.AtLeastOnce);
        yield return (TopicKind.Answers, Delivery.AtLeastOnce);
        // A snapshot is only worth its latest copy: sent at most once, the next one replaces a lost one.
        if (_options.Snapshots) yield return (TopicKind.Snapshots, Delivery.AtMostOnce);
        if (_options.Frames) yield return (TopicKind.Frames, Delivery.AtMostOnce);
        if (_options.Detections) yield return (TopicKind.Detections, Delivery.AtMostOnce);
    }

    private async Task PumpUpAsync(
        IMessageSubscription subscription, Delivery delivery, SnapshotThrottle? throttle, CancellationToken ct)
    {
        await foreach (var message in subscription.Messages.ReadAllAsync(ct))
        {
            if (throttle is not null && !throttle.Allow(_local.Topics.Parse(message.Topic).Name ?? message.Topic))
            {
                Interlocked.Increment(ref _snapshotsSkipped);
                continue;
            }
            try
            {
                await _hub.PublishAsync(_mapping.Up(message, delivery), ct);
                Interlocked.Increment(ref _up);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Only a message too big for the outbox fails here; retrying cannot help, so it is reported and let go.
                _local.Errors.Report(ErrorKinds.Internal, $"Not forwarded to the hub: {ex.Message}",
                    message.Topic, message.Payload.Length);
            }
            await message.AckAsync(ct);
        }
    }

    private async Task PumpDownAsync(IMessageSubscription subscription, CancellationToken ct)
    {
        await foreach (var message in subscription.Messages.ReadAllAsync(ct))
        {
            OutgoingMessage local;
            try
            {
                local = _mapping.Down(message);
            }
            catch (ArgumentException ex)
            {
                _local.Errors.Report(ErrorKinds.UnknownTopic, $"Hub message not forwarded: {ex.Message}",
                    message.Topic, message.Payload.Length);
                await message.AckAsync(ct);
                continue;
            }
            // Waits for the local broker's acknowledgement (and for the local broker, if it is down).
            await _local.Transport.PublishAsync(local, ct);
            Interlocked.Increment(ref _down);
            await message.AckAsync(ct);
        }
    }

    private void OnHubConnectionChanged(bool up)
    {
        var outbox = TransportDecorator.Find<OutboxTransport>(_hub);
        if (up)
        {
            _logger.LogInformation("Hub link up; {Pending} messages ({Bytes} bytes) waiting in the outbox",
                outbox?.Pending, outbox?.PendingBytes);
        }
        else
        {
            _logger.LogWarning("Hub link down; forwarded so far: {Up} up, {Down} down; messages wait in the outbox",
                ForwardedUp, ForwardedDown);
        }
    }
}
