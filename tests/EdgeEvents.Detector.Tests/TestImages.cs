using EdgeEvents.Contracts.Messages;
using SkiaSharp;

namespace EdgeEvents.Detector.Tests;

/// <summary>Images made on the fly from raw pixels or the shared samples.</summary>
internal static class TestImages
{
    public static byte[] Encode(Frame raw, SKEncodedImageFormat format, int quality = 90)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(raw.Width, raw.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.Pixels;
        for (var i = 0; i < raw.Width * raw.Height; i++)
            pixels[i] = new SKColor(raw.Data[i * 3], raw.Data[i * 3 + 1], raw.Data[i * 3 + 2]);
        bitmap.Pixels = pixels;
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>A sample photo as raw RGB24 pixels.</summary>
    public static Frame RawRgb(string sample, string camera) => RawRgb(File.ReadAllBytes(Testing.TestData.Sample(sample)), camera);

    /// <summary>An encoded image as raw RGB24 pixels.</summary>
    public static Frame RawRgb(byte[] image, string camera)
    {
        using var bitmap = SKBitmap.Decode(image);
        var data = new byte[bitmap.Width * bitmap.Height * 3];
        var pixels = bitmap.Pixels;
        for (var i = 0; i < pixels.Length; i++)
            (data[i * 3], data[i * 3 + 1], data[i * 3 + 2]) = (pixels[i].Red, pixels[i].Green, pixels[i].Blue);
        return new Frame { Camera = camera, Encoding = FrameEncoding.Rgb24, Width = bitmap.Width, Height = bitmap.Height, Data = data };
    }

    /// <summary>A sample photo resized to <paramref name="width"/> × <paramref name="height"/> and encoded as JPEG.</summary>
    public static byte[] ResizedJpeg(string sample, int width, int height)
    {
        using var source = SKBitmap.Decode(Testing.TestData.Sample(sample));
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target)) canvas.DrawBitmap(source, SKRect.Create(width, height), new SKSamplingOptions(SKFilterMode.Linear), null);
        using var image = SKImage.FromBitmap(target);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 85);
        return data.ToArray();
    }
}
