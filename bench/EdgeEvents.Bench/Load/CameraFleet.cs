using System.Diagnostics;
using EdgeEvents.Bench;
using EdgeEvents.Camera;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using SkiaSharp;

namespace EdgeEvents.Bench.Load;

/// <summary>
/// Simulated cameras in the bench process: each publishes MessagePack frames with a capture timestamp at a fixed
/// rate, exactly as <see cref="CameraWorker"/> builds them. Every camera cycles through all sample photos in a 1080p
/// and a 640p variant, showing each for two seconds (cameras start at different images), so the scene worker sees
/// objects appear and disappear and publishes events.
/// </summary>
public sealed class CameraFleet(IMessageTransport transport, IReadOnlyList<SourceImage> images)
{
    private const double SecondsPerImage = 2;
    private readonly TopicScheme _topics = new();
    // Per camera, kept across steps: the detector drops frames whose sequence is not newer than the last one.
    private readonly Dictionary<int, long> _sequences = [];
    private long _published;
    private long _failed;

    /// <summary>Frames published so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Frames whose publish failed (link broken) so far.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The sample photos of <paramref name="folder"/> re-encoded (JPEG, quality 90) at 1080 and 640 pixels
    /// high, once.</summary>
    public static IReadOnlyList<SourceImage> LoadImages(string folder)
    {
        var images = new List<SourceImage>();
        foreach (var file in Directory.GetFiles(folder, "*.jpg").Order(StringComparer.Ordinal))
        {
            using var original = SKBitmap.Decode(file);
            foreach (var height in new[] { 1080, 640 })
            {
                var width = (int)Math.Round(original.Width * (double)height / original.Height);
                images.Add(new SourceImage($"{Path.GetFileNameWithoutExtension(file)}-{height}p", FrameEncoding.Jpeg,
                    width, height,
                    DetectorBench.Resized(original, width, height)));
            }
        }
        return images;
    }

    /// <summary>Runs <paramref name="cameras"/> cameras at <paramref name="fps"/> each until <paramref name="ct"/> is
    /// cancelled.</summary>
    public async Task RunAsync(int cameras, double fps, CancellationToken ct)
    {
        var loops = Enumerable.Range(1, cameras).Select(c => Task.Run(() => CameraAsync(c, cameras, fps, ct),
            CancellationToken.None));
        await Task.WhenAll(loops);
    }

    /// <summary>
    /// Publishes every image <paramref name="repeat"/> times on camera 1, about seven per second (near a detector's
    /// pace, so few are superseded): with <paramref name="repeat"/> = the number of detectors sharing the frames, each
    /// is likely to decode every image size once.
    /// </summary>
    public async Task TourAsync(int repeat, CancellationToken ct)
    {
        foreach (var image in images)
        {
            for (var i = 0; i < repeat; i++)
            {
                await PublishAsync(1, image, ct);
                await Task.Delay(150, ct);
            }
        }
    }

    private async Task CameraAsync(int camera, int cameras, double fps, CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(1 / fps);
        var framesPerImage = Math.Max(1, (long)(fps * SecondsPerImage));
        try
        {
            // Spread the cameras' frames evenly over one interval, as unsynchronised real cameras would be.
            await Task.Delay(interval * (camera - 1) / cameras, ct);
            var clock = Stopwatch.StartNew();
            for (var n = 1; !ct.IsCancellationRequested; n++)
            {
                var shown = (camera * 3 + (long)(clock.Elapsed.TotalSeconds * fps) / framesPerImage) % images.Count;
                await PublishAsync(camera, images[(int)shown], ct);
                var next = interval * n - clock.Elapsed;
                if (next > TimeSpan.Zero) await Task.Delay(next, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private async Task PublishAsync(int camera, SourceImage image, CancellationToken ct)
    {
        var settings = new CameraOptions { Id = $"cam{camera}" };
        long sequence;
        lock (_sequences) _sequences[camera] = (sequence = _sequences.GetValueOrDefault(camera)) + 1;
        try
        {
            await transport.PublishAsync(CameraWorker.ToMessage(_topics.Frames(settings.Id), image, sequence,
                settings), ct);
            Interlocked.Increment(ref _published);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The transport drops at-most-once frames on a broken link by itself; anything else (a refusal) is counted
            // here, so one camera's failure does not end the run.
            if (Interlocked.Increment(ref _failed) == 1) Console.Error
                .WriteLine($"cam{camera}: publish failed ({ex.Message}); failures are counted as publish_failed");
        }
    }
}
