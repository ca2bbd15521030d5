using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Detector.Tests;

/// <summary>A detector running in a generic host exactly as <c>edge-events detector</c> builds it, plus an observer connection.</summary>
internal sealed class DetectorHost : WorkerHost
{
    private DetectorHost(IHost host, IMessageTransport observer) : base(host) => Observer = observer;

    public IMessageTransport Observer { get; }
    public DetectorWorker Worker => Service<DetectorWorker>();

    public static string YoloV8 => TestData.Model("yolov8n_int8_dynamic.onnx");
    public static string YoloX => TestData.Model("yolox_nano_416.onnx");

    public static IHost Build(string brokerUrl, IDictionary<string, string?> settings)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:ClientId"] = $"detector-{Guid.NewGuid():N}"[..24],
            ["Transport:PersistentSession"] = "false",
        };
        foreach (var (key, value) in settings) configuration[key] = value;
        return WorkerHost.Build(brokerUrl, builder => builder.Services.AddDetectorWorker(builder.Configuration), configuration);
    }

    /// <summary>
    /// Starts the detector and returns once its frames subscription is live: its status goes online live (not the
    /// retained copy another detector may have left), and that comes after its subscriptions were sent.
    /// </summary>
    public static async Task<DetectorHost> StartAsync(string brokerUrl, IDictionary<string, string?> settings)
    {
        var observer = await TestTransports.ConnectAsync(brokerUrl);
        // No de-duplication: on NATS the live "online" can also come in the retained replay, and it is the live copy we wait for.
        await using var status = await observer.SubscribeAsync(new SubscriptionRequest("edge/status/detector") { Deduplicate = false }, CancellationToken.None);
        var host = Build(brokerUrl, settings);
        await host.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var message = await status.Messages.ReadAsync(timeout.Token);
            if (!message.Retained && Encoding.UTF8.GetString(message.Payload.Span) == StatusPayloads.Online) break;
        }
        return new DetectorHost(host, observer);
    }

    public Task<IMessageSubscription> SubscribeAsync(string filter) =>
        Observer.SubscribeAsync(new SubscriptionRequest(filter) { Capacity = 4096 }, CancellationToken.None);

    public ValueTask PublishFrameAsync(string camera, ReadOnlyMemory<byte> payload, string? contentType = null) =>
        Observer.PublishAsync(new OutgoingMessage($"edge/frames/{camera}", payload) { Delivery = Delivery.AtMostOnce, ContentType = contentType }, CancellationToken.None);

    public ValueTask PublishFrameAsync(Frame frame) =>
        PublishFrameAsync(frame.Camera, MessageCodec.Serialize(frame, PayloadFormat.MessagePack), ContentTypes.MessagePack);

    public static T Decode<T>(ReceivedMessage message) where T : class => MessageCodec.Deserialize<T>(message.Payload, message.ContentType);

    protected override ValueTask OnStoppedAsync() => Observer.DisposeAsync();
}
