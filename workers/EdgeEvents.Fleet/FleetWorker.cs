using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Fleet;

/// <summary>
/// The hub's view of its sites. Subscribes to what the sites' links bring to the hub (<c>sites/+/link</c> and each
/// site's status, detectors' model states, stats, scene, events and errors), and publishes a retained JSON
/// <see cref="SiteStatus"/> on <c>fleet/sites/{site}</c> and a retained <see cref="FleetSummary"/> on
/// <c>fleet/summary</c> (QoS 1). Messages and the periodic check take turns on one gate: the state has one writer.
/// </summary>
public sealed class FleetWorker : BackgroundService
{
    /// <summary>
    /// Component name: the key of its <see cref="EdgeComponent"/>, its client id, status and error topics.
    /// </summary>
    public const string Component = "fleet";

    private readonly EdgeComponent _component;
    private readonly FleetOptions _options;
    private readonly FleetTopics _topics;
    private readonly FleetState _state;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    // edge.fleet.site.up per site, read by the metrics collection on its own thread.
    private readonly ConcurrentDictionary<string, long> _siteUp = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _siteGauges = [];

    public FleetWorker([FromKeyedServices(Component)] EdgeComponent component, IOptions<FleetOptions> options,
        TimeProvider clock, ILogger<FleetWorker> logger)
    {
        _component = component;
        _options = options.Value;
        _topics = new FleetTopics(component.Topics.Prefix);
        _state = new FleetState(_topics, _options);
        _clock = clock;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _state.Expect(_options.Sites, _clock.GetUtcNow());
        string[] filters =
        [
            FleetTopics.AllLinks,
            _topics.AllSitesDetectorModels,
            .. new[] { TopicKind.Status, TopicKind.Stats, TopicKind.Scene, TopicKind.Events, TopicKind.Errors }
                .Select(_topics.AllSitesOf),
        ];
        try
        {
            var subscriptions = new List<IMessageSubscription>();
            // At most once: what a persistent session kept while the fleet was down is old news, and taken for live
            // it would show a dead site online for a site timeout. The retained state arrives on subscribe anyway.
            foreach (var filter in filters)
            {
                var request = new SubscriptionRequest(filter) { Delivery = Delivery.AtMostOnce };
                subscriptions.Add(await _component.Transport.SubscribeAsync(request, stoppingToken));
            }
            _logger.LogInformation("Fleet watching {Filters}; a site silent for {SiteTimeout} is offline",
                string.Join(", ", filters), _options.SiteTimeout);
            await Task.WhenAll(
                [.. subscriptions.Select(s => ConsumeAsync(s, stoppingToken)), CheckAsync(stoppingToken)]);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ConsumeAsync(IMessageSubscription subscription, CancellationToken ct)
    {
        await foreach (var message in subscription.Messages.ReadAllAsync(ct))
        {
            await _gate.WaitAsync(ct);
            try
            {
                _state.Observe(
                    message.Topic, message.Payload, message.ContentType, message.Retained, _clock.GetUtcNow());
            }
            catch (MessageFormatException ex)
            {
                _component.Errors.Report(
                    ErrorKinds.MalformedPayload, ex.Message, message.Topic, message.Payload.Length);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private async Task CheckAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_options.CheckInterval, _clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            IReadOnlyList<SiteStatus> changed;
            FleetSummary? summary;
            await _gate.WaitAsync(ct);
            try { (changed, summary) = _state.Evaluate(_clock.GetUtcNow()); }
            finally { _gate.Release(); }

            try
            {
                foreach (var status in changed)
                {
                    ReportUp(status);
                    if (status.State != SiteStates.Online)
                        _logger.LogDebug(
                            "Site {Site} is {State} since {Since:O}", status.Site, status.State, status.Since);
                    await PublishAsync(FleetTopics.SiteStatus(status.Site), status, ct);
                }
                if (summary is not null) await PublishAsync(FleetTopics.Summary, summary, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _component.Errors.Report(ErrorKinds.Internal, $"Publishing the fleet state failed: {ex.Message}");
            }
        }
    }

    private void ReportUp(SiteStatus status)
    {
        var up = status.State == SiteStates.Offline ? 0 : 1;
        if (!_siteUp.TryAdd(status.Site, up))
        {
            _siteUp[status.Site] = up;
            return;
        }
        var tags = new TagList
        {
            { EdgeTelemetry.Tags.Component, _component.Name },
            { EdgeTelemetry.Tags.Site, status.Site },
        };
        _siteGauges.Add(EdgeTelemetry.FleetSiteUp.Observe(() => _siteUp[status.Site], tags));
    }

    public override void Dispose()
    {
        foreach (var gauge in _siteGauges) gauge.Dispose();
        base.Dispose();
    }

    private ValueTask PublishAsync<T>(string topic, T message, CancellationToken ct) where T : IEdgeMessage =>
        _component.Transport.PublishAsync(
            new OutgoingMessage(topic, MessageCodec.Serialize(message, PayloadFormat.Json))
            {
                ContentType = ContentTypes.Json, Delivery = Delivery.AtLeastOnce, Retain = true, MessageId = message.Id,
            }, ct);
}
