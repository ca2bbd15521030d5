using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Scene.Tests;

/// <summary>
/// A scene worker in a real host, as <c>edge-events scene</c> runs it, plus a client to feed and watch it.
/// </summary>
internal sealed class SceneHost : WorkerHost
{
    private SceneHost(IHost host, IMessageTransport client) : base(host) => Client = client;

    /// <summary>A separate connection for publishing detections and subscribing to the worker's output.</summary>
    public IMessageTransport Client { get; }

    public EdgeComponent Component => ComponentNamed(SceneWorker.Component);

    public SceneWorker Worker => Service<SceneWorker>();

    /// <param name="clientId">The worker's MQTT client id; the same id resumes the same persistent session.</param>
    /// <param name="settings">Other configuration keys, e.g. <c>HomeAssistant:Enabled</c>.</param>
    public static async Task<SceneHost> StartAsync(string brokerUrl, Dictionary<string, string?>? scene = null,
        string? clientId = null, Dictionary<string, string?>? settings = null)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:ClientId"] = clientId ?? $"scene-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in scene ?? []) configuration[$"{SceneOptions.Section}:{key}"] = value;
        foreach (var (key, value) in settings ?? []) configuration[key] = value;
        var host = await StartHostAsync(brokerUrl, builder => builder.Services.AddSceneWorker(builder.Configuration),
            configuration);
        var sceneHost = new SceneHost(host, await TestTransports.ConnectAsync(brokerUrl));
        await sceneHost.WaitUntilTrackingAsync();
        return sceneHost;
    }

    public Task PublishAsync(DetectionSet detections, PayloadFormat format = PayloadFormat.MessagePack) =>
        PublishRawAsync(detections.Camera, MessageCodec.Serialize(detections, format), ContentTypes.For(format));

    public Task PublishRawAsync(string camera, byte[] payload, string? contentType = null) =>
        Client.PublishAsync(new OutgoingMessage($"edge/detections/{camera}", payload) { ContentType = contentType },
            default).AsTask();

    public Task<IMessageSubscription> SubscribeAsync(string filter) =>
        Client.SubscribeAsync(new SubscriptionRequest(filter) { Capacity = 10_000 }, default);

    public static T Decode<T>(ReceivedMessage message) where T : class =>
        MessageCodec.Deserialize<T>(message.Payload, message.ContentType);

    /// <summary>
    /// The worker connects and subscribes in the background after host start: feed a probe camera until its scene
    /// appears, so the test's own detections are not published before anyone listens.
    /// </summary>
    private async Task WaitUntilTrackingAsync()
    {
        await using var scene = await SubscribeAsync("edge/scene/probe");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        for (var sequence = 0; ; sequence++)
        {
            await PublishAsync(new DetectionSet
            {
                Camera = "probe", ModelId = "probe", FrameSequence = sequence, CapturedAt = DateTimeOffset.UtcNow,
            });
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
            wait.CancelAfter(TimeSpan.FromMilliseconds(200));
            try
            {
                await scene.Messages.ReadAsync(wait.Token);
                return;
            }
            catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
            {
            }
        }
    }

    protected override ValueTask OnStoppedAsync() => Client.DisposeAsync();
}
