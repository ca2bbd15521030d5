using EdgeEvents.Broker;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Mqtt;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Cli.Dashboard;

/// <summary>
/// The page's broker for a hub the browser cannot reach over MQTT-over-WebSockets (a NATS hub: nats-server's MQTT
/// gateway is MQTT 3.1.1 over TCP, and its clients see only what MQTT clients retained, not our retained stream).
/// An embedded broker with only a WebSocket listener, fed from the hub transport with the topics the page shows
/// (state topics kept retained, so a page that connects later sees the fleet at once), and passing the questions
/// browsers publish on to the hub, acknowledged once the hub has them. Browsers may publish nothing else; the hub
/// credentials stay in this process.
/// </summary>
public sealed class HubRelay : IAsyncDisposable
{
    private static readonly TimeSpan QuestionTimeout = TimeSpan.FromSeconds(10);

    private readonly EmbeddedBroker _broker;
    private readonly IMessageTransport _hub;
    private readonly TopicScheme _topics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _relaying = Task.CompletedTask;

    private HubRelay(EmbeddedBroker broker, IMessageTransport hub, TopicScheme topics, ILogger logger)
    {
        _broker = broker;
        _hub = hub;
        _topics = topics;
        _logger = logger;
        Port = new Uri(broker.WebSocketUrl!).Port;
    }

    /// <summary>The WebSocket port the page connects to (path <c>/mqtt</c>).</summary>
    public int Port { get; }

    /// <summary>
    /// Starts the WebSocket listener; the relay connects to <paramref name="hub"/> in the background, so the page is
    /// served (and shows the hub's state once it arrives) while the hub is still unreachable.
    /// </summary>
    public static async Task<HubRelay> StartAsync(
        IMessageTransport hub, DashboardOptions options, ILogger logger, CancellationToken ct)
    {
        var broker = await EmbeddedBroker.StartAsync(new BrokerOptions
        {
            BindAddress = options.BindAddress, WebSocketPort = options.RelayPort, PlainListener = false,
            Prefix = options.Prefix,
        }, logger, ct);
        var relay = new HubRelay(broker, hub, new TopicScheme(options.Prefix), logger);
        broker.Server.InterceptingPublishAsync += relay.ForwardQuestionAsync;
        relay._relaying =
            Task.Run(() => relay.RelayAsync(options.Fleet, relay._stopping.Token), CancellationToken.None);
        return relay;
    }

    private async Task RelayAsync(bool fleet, CancellationToken ct)
    {
        try
        {
            _ = _hub.ConnectAsync(ct);
            var pumps = new List<Task>();
            foreach (var (filter, delivery) in PageTopics(fleet))
            {
                var subscription = await _hub.SubscribeAsync(new SubscriptionRequest(filter)
                {
                    Delivery = delivery,
                    Overload = delivery == Delivery.AtMostOnce ? OverloadPolicy.DropOldest : OverloadPolicy.Wait,
                    RetainAsPublished = true,
                }, ct);
                pumps.Add(PumpAsync(subscription, delivery, ct));
            }
            _logger.LogInformation("Relaying the hub to the page on port {Port}", Port);
            await Task.WhenAll(pumps);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "The relay of the hub stopped: the page gets nothing more from the hub");
        }
    }

    /// <summary>What the page subscribes to (dashboard.js): nothing the page would not show is relayed.</summary>
    private IEnumerable<(string Filter, Delivery Delivery)> PageTopics(bool fleet)
    {
        var fleetTopics = new FleetTopics(_topics.Prefix);
        Func<TopicKind, string> all = fleet ? fleetTopics.AllSitesOf : _topics.AllOf;
        // A snapshot is only worth its latest copy.
        yield return (all(TopicKind.Snapshots), Delivery.AtMostOnce);
        foreach (var kind in new[] { TopicKind.Scene, TopicKind.Events, TopicKind.Status })
            yield return (all(kind), Delivery.AtLeastOnce);
        yield return ($"{_topics.Answers()}/#", Delivery.AtLeastOnce);
        if (!fleet) yield break;
        yield return ($"{FleetTopics.SitesRoot}/+/{_topics.Answers()}/#", Delivery.AtLeastOnce);
        yield return (FleetTopics.AllSiteStatuses, Delivery.AtLeastOnce);
    }

    private async Task PumpAsync(IMessageSubscription subscription, Delivery delivery, CancellationToken ct)
    {
        await foreach (var message in subscription.Messages.ReadAllAsync(ct))
        {
            // A NATS hub marks only replayed copies retained: a live state update must replace the stored one too.
            var relayed = new OutgoingMessage(message.Topic, message.Payload)
            {
                ContentType = message.ContentType,
                Delivery = delivery,
                Retain = message.Retained || IsState(message.Topic),
                MessageId = message.MessageId,
            };
            var injected = new InjectedMqttApplicationMessage(MqttTransport.ToMqtt(relayed));
            await _broker.Server.InjectApplicationMessage(injected, ct);
        }
    }

    /// <summary>Retained at its source: scene, snapshot and status (of a site or the hub), and site states.</summary>
    private bool IsState(string topic)
    {
        if (topic.StartsWith(FleetTopics.FleetRoot + "/", StringComparison.Ordinal)) return true;
        var local = FleetTopics.FromHub(topic)?.Local ?? topic;
        return _topics.Parse(local).Kind is TopicKind.Scene or TopicKind.Snapshots or TopicKind.Status;
    }

    private async Task ForwardQuestionAsync(InterceptingPublishEventArgs e)
    {
        // What the relay itself injects has no client.
        if (string.IsNullOrEmpty(e.ClientId)) return;
        e.ProcessPublish = false;
        var topic = e.ApplicationMessage.Topic;
        if (_topics.Parse(FleetTopics.FromHub(topic)?.Local ?? topic).Kind != TopicKind.Questions)
        {
            e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            e.Response.ReasonString = "The dashboard relays questions only.";
            _logger.LogWarning(
                "Refused publish of browser {ClientId} to {Topic}: the dashboard relays questions only",
                e.ClientId, topic);
            return;
        }
        var question = MqttTransport.ToReceived(e.ApplicationMessage);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(e.CancellationToken, _stopping.Token);
        timeout.CancelAfter(QuestionTimeout);
        try
        {
            await _hub.PublishAsync(new OutgoingMessage(topic, question.Payload)
            {
                ContentType = question.ContentType,
                ResponseTopic = question.ResponseTopic,
                CorrelationData = question.CorrelationData,
                MessageId = question.MessageId,
            }, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            e.Response.ReasonCode = MqttPubAckReasonCode.ImplementationSpecificError;
            e.Response.ReasonString = $"The hub did not take the question within {QuestionTimeout.TotalSeconds:0} s.";
            _logger.LogWarning(
                "Question of browser {ClientId} on {Topic} not relayed: the hub did not take it within {Timeout}",
                e.ClientId, topic, QuestionTimeout);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _relaying;
        await _hub.DisposeAsync();
        await _broker.DisposeAsync();
        _stopping.Dispose();
    }
}
