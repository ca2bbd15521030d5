using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Camera;

/// <summary>
/// Publishes frames at a fixed rate. Frames are at-most-once with a message expiry: a camera never waits for the
/// broker, and a frame that could not be delivered in time is worth nothing.
/// </summary>
public sealed class CameraWorker(
    [FromKeyedServices(CameraWorker.Component)] EdgeComponent component,
    IOptions<CameraOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<CameraWorker> logger) : BackgroundService
{
    /// <summary>
    /// Component name: the key of its <see cref="EdgeComponent"/>, its client id, status and error topics.
    /// </summary>
    public const string Component = "camera";

    private long _published;

    /// <summary>Frames handed to the transport so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var sourceName = settings.Source ?? DefaultSource();
        var source = FrameSource.Open(sourceName, settings);
        var topic = component.Topics.Frames(settings.Id);
        // Frames are at-most-once: wait for the first connection rather than drop the first frames.
        await component.Transport.ConnectAsync(stoppingToken);
        // Reported once connected, so the error events reach the broker; the camera publishes the other images.
        foreach (var unreadable in source.Unreadable)
            component.Errors.Report(ErrorKinds.DecodeFailed,
                $"Skipped image '{unreadable.Path}': {unreadable.Reason}", camera: settings.Id);
        logger.LogInformation("Camera {Camera} publishing {Source} at {Fps} fps on {Topic}",
            settings.Id, sourceName, settings.Fps, topic);

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / settings.Fps));
        for (long sequence = 0; settings.MaxFrames == 0 || sequence < settings.MaxFrames; sequence++)
        {
            var image = source.Get(sequence / settings.RepeatEach, settings.Loop);
            if (image is null) break;
            await component.Transport.PublishAsync(ToMessage(topic, image, sequence, settings), stoppingToken);
            Interlocked.Increment(ref _published);
            if (!await timer.WaitForNextTickAsync(stoppingToken)) break;
        }
        logger.LogInformation("Camera {Camera} finished after {Frames} frames", settings.Id, Published);
        if (settings.MaxFrames > 0) lifetime.StopApplication();
    }

    public static OutgoingMessage ToMessage(string topic, SourceImage image, long sequence, CameraOptions settings)
    {
        var now = DateTimeOffset.UtcNow;
        var bare = settings.Payload == FramePayloadKind.Bare &&
            image.Encoding is FrameEncoding.Jpeg or FrameEncoding.Png;
        var frame = new Frame
        {
            Camera = settings.Id, Sequence = sequence, CapturedAt = now, Encoding = image.Encoding,
            Width = image.Width, Height = image.Height, Data = image.Data,
            Attributes = new Dictionary<string, string> { ["source"] = image.Name },
        };
        return new OutgoingMessage(topic, bare ? image.Data : MessageCodec.Serialize(frame, PayloadFormat.MessagePack))
        {
            ContentType = bare
                ? (image.Encoding == FrameEncoding.Png ? ContentTypes.Png : ContentTypes.Jpeg)
                : ContentTypes.MessagePack,
            Delivery = Delivery.AtMostOnce,
            Expiry = settings.FrameExpiry,
            MessageId = frame.Id,
        };
    }

    /// <summary>
    /// The sample photos of the shared test-data folder beside the repository, if present; else synthetic frames.
    /// </summary>
    private static string DefaultSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var samples = Path.Combine(dir.FullName, "shared", "samples");
            if (Directory.Exists(samples)) return samples;
        }
        return "synthetic";
    }
}

public static class CameraServiceCollectionExtensions
{
    public static IServiceCollection AddCameraWorker(this IServiceCollection services,
        Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddEdgeOptions<CameraOptions>(configuration, CameraOptions.Section);
        // On the wire the camera is its camera id: its status topic and broker user are edge/status/{id} and {id}.
        var id = configuration[$"{CameraOptions.Section}:Id"] ?? new CameraOptions().Id;
        services.AddEdgeComponent(configuration, CameraWorker.Component, name: id);
        services.AddSingleton<CameraWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<CameraWorker>());
        return services;
    }
}
