using System.Text;
using EdgeEvents.Bridge;
using EdgeEvents.Camera;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Detector;
using EdgeEvents.Fleet;
using EdgeEvents.Llm;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// The scenario the hub tests share, run once: an embedded-broker site with two cameras, the detector, the scene and
/// the LLM worker, bridged by <c>edge-events bridge</c> into a mosquitto hub and into a NATS hub (JetStream), each
/// through its own WAN proxy and watched there by the <c>fleet</c> component (site timeout 10 s). Once events reach both hubs, both WANs are cut for <see cref="CutLength"/>; during the
/// cut both bridges are killed with SIGKILL and started again, and a question is asked at each hub. After the WANs
/// return the cameras stop, and everything settles.
/// </summary>
public sealed class BridgedSite : IAsyncLifetime
{
    public const string Site = "plant-a";
    public static readonly TimeSpan CutLength = TimeSpan.FromSeconds(60);
    public static readonly string[] Cameras = ["cam1", "cam2"];
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly FleetTopics Fleet = new();
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-bridge-");
    private readonly List<IHost> _pipeline = [];
    private MqttTestBroker? _site;
    private IMessageTransport? _localConsumer;

    public HubSide Mosquitto { get; private set; } = null!;
    public HubSide Nats { get; private set; } = null!;
    /// <summary>Scene events as a subscriber at the site saw them.</summary>
    public MessageLog Local { get; private set; } = null!;
    public DateTime CutAt { get; private set; }
    public DateTime RestoredAt { get; private set; }
    /// <summary>Event ids the site subscriber had seen when the WAN came back.</summary>
    public IReadOnlySet<string> ProducedBeforeRestore { get; private set; } = new HashSet<string>();

    public static TopicScheme HubTopics => Fleet.ForSite(Site);

    public async Task InitializeAsync()
    {
        _site = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        Mosquitto = new HubSide("mosquitto", await MosquittoBroker.StartNewAsync(), _site.Url, _folder.FullName);
        Nats = new HubSide("nats", await NatsServer.StartNewAsync(), _site.Url, _folder.FullName);
        _localConsumer = await TestTransports.ConnectAsync(TestTransports.Options(_site.Url, "site-consumer", persistent: true));
        Local = new MessageLog(await _localConsumer.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 10_000 }, default));

        Mosquitto.StartBridge();
        Nats.StartBridge();
        await ConnectMosquittoHubAsync();
        await ConnectNatsHubAsync();
        foreach (var hub in new[] { Mosquitto, Nats })
        {
            await StartAsync($"fleet-{hub.Name}", (s, c) => s.AddFleetWorker(c), new() { ["Fleet:SiteTimeout"] = "00:00:10", ["Fleet:PublishInterval"] = "00:00:01" }, hub.Broker.Url);
            hub.FleetStatus = new MessageLog(await hub.Consumer!.SubscribeAsync(new SubscriptionRequest(FleetTopics.SiteStatus(Site)), default));
        }
        await StartPipelineAsync();

        // Running: events reach both hubs.
        foreach (var hub in new[] { Mosquitto, Nats })
            await hub.Events!.WaitForAsync(_ => true, Timeout, $"event at the {hub.Name} hub");

        // The cut, with a kill and restart of both bridges and a question at each hub in it.
        CutAt = DateTime.UtcNow;
        Mosquitto.Wan.Cut();
        Nats.Wan.Cut();
        await Task.Delay(TimeSpan.FromSeconds(15));
        foreach (var hub in new[] { Mosquitto, Nats })
        {
            hub.Bridge.Kill();
            await hub.Bridge.WaitForExitAsync(Timeout);
        }
        await Task.Delay(TimeSpan.FromSeconds(2));
        Mosquitto.StartBridge();
        Nats.StartBridge();
        await UntilAsync(CutAt + CutLength - TimeSpan.FromSeconds(15));
        await AskAsync(Mosquitto, "alice", responseTopic: "clients/alice/answers");
        await AskAsync(Nats, "bob", responseTopic: null);
        await UntilAsync(CutAt + CutLength);
        ProducedBeforeRestore = EventIds(Local);
        RestoredAt = DateTime.UtcNow;
        Mosquitto.Wan.Restore();
        Nats.Wan.Restore();

        // Settle: the cameras stop, the scene ends its tracks, every hub catches up.
        await Task.Delay(TimeSpan.FromSeconds(5));
        foreach (var camera in _pipeline.Where(h => h.Services.GetService<CameraWorker>() is not null)) await camera.StopAsync();
        await UntilQuietAsync(Local, TimeSpan.FromSeconds(6));
        var produced = EventIds(Local);
        foreach (var hub in new[] { Mosquitto, Nats })
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (!produced.IsSubsetOf(EventIds(hub.Events!)) && DateTime.UtcNow < deadline) await Task.Delay(200);
            await hub.Answers!.WaitForAsync(a => IsAnswerTo(a, hub.QuestionId!), Timeout, $"answer at the {hub.Name} hub");
        }
    }

    /// <summary>Ids of the scene events in a log.</summary>
    public static HashSet<string> EventIds(MessageLog log) => [.. log.Arrivals.Select(a => Event(a).Id)];

    public static SceneEvent Event(MessageLog.Arrival arrival) => MessageCodec.Deserialize<SceneEvent>(arrival.Message.Payload, arrival.Message.ContentType);

    public static bool IsAnswerTo(MessageLog.Arrival arrival, string questionId) =>
        arrival.Message.Payload.Length > 0 && arrival.Message.Payload.Span[0] == (byte)'{'
        && MessageCodec.Deserialize<Answer>(arrival.Message.Payload, ContentTypes.Json).QuestionId == questionId;

    /// <summary>The mosquitto hub's consumers connect to the hub directly (the WAN is the site's link, not theirs).</summary>
    private async Task ConnectMosquittoHubAsync()
    {
        var consumer = await TestTransports.ConnectAsync(TestTransports.Options(Mosquitto.Broker.Url, "hub-consumer", persistent: true));
        Mosquitto.Consumer = consumer;
        Mosquitto.Events = new MessageLog(await consumer.SubscribeAsync(new SubscriptionRequest(HubTopics.AllOf(TopicKind.Events)) { Capacity = 10_000 }, default));
        Mosquitto.Link = new MessageLog(await consumer.SubscribeAsync(new SubscriptionRequest(FleetTopics.Link(Site)), default));
        Mosquitto.Answers = new MessageLog(await consumer.SubscribeAsync(new SubscriptionRequest("clients/alice/answers"), default));
        await Mosquitto.Link.WaitForAsync(a => Payload(a) == LinkPayloads.Up, Timeout, "link 1");
    }

    /// <summary>
    /// The NATS hub's consumer uses the bridge's own stream settings for the site (one definition of the site's
    /// streams) and reads events through a durable consumer, once the bridge has created the stream.
    /// </summary>
    private async Task ConnectNatsHubAsync()
    {
        var options = new BridgeOptions { Site = Site, Hub = TestTransports.Options(Nats.Broker.Url, "hub-consumer") }.HubTransport(TopicScheme.DefaultPrefix)
            with
        { Presence = null, Outbox = new() };
        var consumer = TransportFactory.Create(options, "hub-consumer", NullLoggerFactory.Instance);
        Nats.Consumer = consumer;
        using (var connect = new CancellationTokenSource(Timeout)) await consumer.ConnectAsync(connect.Token);
        var deadline = DateTime.UtcNow + Timeout;
        while (Nats.Events is null)
        {
            try
            {
                Nats.Events = new MessageLog(await consumer.SubscribeAsync(new SubscriptionRequest(HubTopics.AllOf(TopicKind.Events)) { Capacity = 10_000, Durable = "hub-events" }, default));
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
        Nats.Link = new MessageLog(await consumer.SubscribeAsync(new SubscriptionRequest(FleetTopics.Link(Site)), default));
        Nats.Answers = new MessageLog(await consumer.SubscribeAsync(new SubscriptionRequest(HubTopics.Answers("bob")), default));
        await Nats.Link.WaitForAsync(a => Payload(a) == LinkPayloads.Up, Timeout, "link 1");
    }

    private async Task StartPipelineAsync()
    {
        var llm = await StartAsync("llm", (s, c) => s.AddLlmWorker(c), new()
        {
            ["Llm:ModelPath"] = TestData.Model("stories260K.gguf"), ["Llm:ContextSize"] = "512", ["Llm:MaxTokens"] = "8", ["Llm:Parallelism"] = "1",
        });
        await llm.Services.GetRequiredService<LlmWorker>().Ready.WaitAsync(Timeout);
        await StartAsync("scene", (s, c) => s.AddSceneWorker(c), new() { ["Scene:ConfirmHits"] = "1" });
        await StartAsync("detector", (s, c) => s.AddDetectorWorker(c), new()
        {
            ["Detector:ModelPath"] = TestData.Model("yolov8n_int8_dynamic.onnx"), ["Detector:Providers"] = "CPU", ["Detector:IntraOpThreads"] = "1",
        });
        foreach (var camera in Cameras)
            await StartAsync(camera, (s, c) => s.AddCameraWorker(c), new()
            {
                ["Camera:Id"] = camera, ["Camera:Source"] = TestData.SamplesFolder, ["Camera:Fps"] = "2", ["Camera:RepeatEach"] = "6",
            });
    }

    /// <summary>A component in its own host, at the site unless <paramref name="broker"/> names a hub.</summary>
    private async Task<IHost> StartAsync(string name, Action<IServiceCollection, IConfiguration> add, Dictionary<string, string?> settings, string? broker = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        settings["Transport:Broker"] = broker ?? _site!.Url;
        settings["Transport:ClientId"] = $"site-{name}";
        settings["Transport:ReconnectMaxDelay"] = "00:00:00.5";
        builder.Configuration.AddInMemoryCollection(settings);
        add(builder.Services, builder.Configuration);
        var host = builder.Build();
        _pipeline.Add(host);
        await host.StartAsync();
        return host;
    }

    /// <summary>At the hub, while the WAN is cut: question ids are kept across the link, so the answer names it.</summary>
    private static async Task AskAsync(HubSide hub, string asker, string? responseTopic)
    {
        var question = new Question { Text = "How many people are there?", Asker = asker };
        hub.QuestionId = question.Id;
        await hub.Consumer!.PublishAsync(new OutgoingMessage(HubTopics.Questions(asker), MessageCodec.Serialize(question, PayloadFormat.Json))
        {
            ContentType = ContentTypes.Json, MessageId = question.Id, ResponseTopic = responseTopic,
            CorrelationData = responseTopic is null ? default : Encoding.UTF8.GetBytes(question.Id), Expiry = TimeSpan.FromMinutes(5),
        }, default);
    }

    public static string Payload(MessageLog.Arrival arrival) => Encoding.UTF8.GetString(arrival.Message.Payload.Span);

    public static SiteStatus Status(MessageLog.Arrival arrival) => MessageCodec.Deserialize<SiteStatus>(arrival.Message.Payload, ContentTypes.Json);

    private static async Task UntilAsync(DateTime at)
    {
        var wait = at - DateTime.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
    }

    private static async Task UntilQuietAsync(MessageLog log, TimeSpan quiet)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow - log.LastArrival < quiet && DateTime.UtcNow < deadline) await Task.Delay(200);
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _pipeline)
        {
            await host.StopAsync();
            host.Dispose();
        }
        await Mosquitto.DisposeAsync();
        await Nats.DisposeAsync();
        await Local.DisposeAsync();
        if (_localConsumer is not null) await _localConsumer.DisposeAsync();
        if (_site is not null) await _site.DisposeAsync();
        _folder.Delete(recursive: true);
    }
}
