using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Camera;

public enum FramePayloadKind
{
    /// <summary>The MessagePack <c>Frame</c> envelope (camera, sequence, capture time, size, bytes).</summary>
    Envelope,
    /// <summary>The bare JPEG/PNG file, as <c>mosquitto_pub -f photo.jpg</c> sends it.</summary>
    Bare,
}

/// <summary>Camera simulator settings. Bound from configuration section <c>Camera</c>.</summary>
public sealed record CameraOptions
{
    public const string Section = "Camera";

    /// <summary>Camera id; names the frames topic. Default <c>cam1</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_-]{1,128}$")]
    public string Id { get; init; } = "cam1";

    /// <summary>
    /// A folder of .jpg/.jpeg/.png images (published in name order), one image file, or <c>synthetic</c> for generated
    /// raw frames with moving boxes. Default: the sample photos found beside the repository, else <c>synthetic</c>.
    /// </summary>
    public string? Source { get; init; }

    /// <summary>Frames per second. Default 2.</summary>
    [Range(0.01, 1000)]
    public double Fps { get; init; } = 2;

    /// <summary>Publish each image this many times in a row, like a camera watching a still scene. Default 1.</summary>
    [Range(1, 1_000_000)]
    public int RepeatEach { get; init; } = 1;

    /// <summary>Start again from the first image after the last. Default true.</summary>
    public bool Loop { get; init; } = true;

    /// <summary>Stop after this many frames; 0 = never. Default 0.</summary>
    [Range(0, long.MaxValue)]
    public long MaxFrames { get; init; }

    /// <summary>Envelope (default) or Bare. Synthetic frames are raw RGB and always use the envelope.</summary>
    public FramePayloadKind Payload { get; init; } = FramePayloadKind.Envelope;

    /// <summary>
    /// The broker discards a frame not delivered within this time: an old frame is worthless. Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan FrameExpiry { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Synthetic frame size. Default 640x480.</summary>
    [Range(16, 8192)]
    public int SyntheticWidth { get; init; } = 640;

    /// <summary>Default 480.</summary>
    [Range(16, 8192)]
    public int SyntheticHeight { get; init; } = 480;
}
