using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Scene.Tests;

/// <summary>Synthetic detections: boxes in pixels, frames at 10 fps from a fixed start (or a given one).</summary>
internal static class Synthetic
{
    public static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 15, 0, TimeSpan.Zero);
    public static readonly TimeSpan FramePeriod = TimeSpan.FromMilliseconds(100);

    public static DateTimeOffset At(int frame) => Start + frame * FramePeriod;

    public static Detection Object(string label, float x, float y, float confidence = 0.9f, float width = 60,
        float height = 120) =>
        new() { Label = label, Confidence = confidence, Box = new Box(x, y, x + width, y + height) };

    public static Detection Person(float x, float y, float confidence = 0.9f) => Object("person", x, y, confidence);

    public static DetectionSet Frame(string camera, int frame, params Detection[] detections) =>
        Frame(Start, camera, frame, detections);

    /// <summary>Frame number <paramref name="frame"/> of a sequence that started at <paramref name="start"/>.</summary>
    public static DetectionSet Frame(DateTimeOffset start, string camera, int frame, params Detection[] detections) =>
        new()
        {
            Camera = camera,
            ModelId = "synthetic",
            FrameSequence = frame,
            CapturedAt = start + frame * FramePeriod,
            ImageWidth = 640,
            ImageHeight = 480,
            Detections = detections,
            FrameId = $"frame-{frame}",
        };
}
