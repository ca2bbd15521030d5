using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

public class FramePreprocessor_Tests(ITestOutputHelper output)
{
    // A 200x100 image: left half red, right half blue. Into 64x64: scale 0.32 → 64x32.
    private static Frame RawFrame(FrameEncoding encoding)
    {
        var data = new byte[200 * 100 * 3];
        for (var y = 0; y < 100; y++)
            for (var x = 0; x < 200; x++)
            {
                var (r, g, b) = x < 100 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255);
                var i = (y * 200 + x) * 3;
                (data[i], data[i + 1], data[i + 2]) = encoding == FrameEncoding.Bgr24 ? (b, g, r) : (r, g, b);
            }
        return new Frame { Camera = "t", Encoding = encoding, Width = 200, Height = 100, Data = data };
    }

    private static (float C0, float C1, float C2) Pixel(float[] tensor, int x, int y, int size = 64) =>
        (tensor[y * size + x], tensor[size * size + y * size + x], tensor[2 * size * size + y * size + x]);

    private static void AssertPixel((float, float, float) expected, float[] tensor, int x, int y)
    {
        var actual = Pixel(tensor, x, y);
        Assert.True(Math.Abs(expected.Item1 - actual.C0) < 1e-3 && Math.Abs(expected.Item2 - actual.C1) < 1e-3 && Math.Abs(expected.Item3 - actual.C2) < 1e-3,
            $"pixel ({x},{y}) is {actual}, expected {expected}");
    }

    [Theory]
    [InlineData(FrameEncoding.Rgb24)]
    [InlineData(FrameEncoding.Bgr24)]
    public void Yolov8_input_is_rgb_over_255_centred_with_grey_114_padding(FrameEncoding encoding)
    {
        var pre = new FramePreprocessor(new InputFormat(64, 64, Bgr: false, PixelDivisor: 255, Centered: true), 1_000_000);
        var tensor = new float[pre.Format.TensorLength];

        var box = pre.Prepare(RawFrame(encoding), tensor, out _);

        Assert.Equal((64, 32, 0, 16), (box.ResizedWidth, box.ResizedHeight, box.PadLeft, box.PadTop));
        AssertPixel((114 / 255f, 114 / 255f, 114 / 255f), tensor, 10, 5);
        AssertPixel((114 / 255f, 114 / 255f, 114 / 255f), tensor, 10, 60);
        AssertPixel((1f, 0f, 0f), tensor, 10, 30);
        AssertPixel((0f, 0f, 1f), tensor, 50, 30);
    }

    [Theory]
    [InlineData(157, 93)] // shrinking: 70×41, windows of 5–6 taps; 70 is not a multiple of the 4 pixels done at once
    [InlineData(23, 17)] // enlarging: 70×52, 4 taps
    [InlineData(70, 70)] // the input size: each window is one pixel
    public void The_fast_letterbox_is_the_separable_resample_its_kernels_define(int width, int height)
    {
        var random = new Random(7);
        var data = new byte[width * height * 3];
        random.NextBytes(data);
        var pre = new FramePreprocessor(new InputFormat(70, 70, Bgr: false, PixelDivisor: 255, Centered: true), 1_000_000, PreprocessMode.Fast);
        var tensor = new float[pre.Format.TensorLength];

        var box = pre.Prepare(new Frame { Camera = "t", Encoding = FrameEncoding.Rgb24, Width = width, Height = height, Data = data }, tensor, out _);

        // The same sums in double precision, straight from the kernels' weights, rows and columns in any order.
        var (kx, ky) = (ResizeKernel.Create(width, box.ResizedWidth), ResizeKernel.Create(height, box.ResizedHeight));
        var worst = 0.0;
        for (var y = 0; y < box.ResizedHeight; y++)
            for (var x = 0; x < box.ResizedWidth; x++)
                for (var c = 0; c < 3; c++)
                {
                    var sum = 0.0;
                    for (var j = 0; j < ky.Count[y]; j++)
                        for (var i = 0; i < kx.Count[x]; i++)
                            sum += (double)ky.Weights[y * ky.Stride + j] * kx.Weights[x * kx.Stride + i] * data[((ky.Start[y] + j) * width + kx.Start[x] + i) * 3 + c];
                    var expected = Math.Clamp(sum, 0, 255) / 255;
                    worst = Math.Max(worst, Math.Abs(expected - tensor[c * 70 * 70 + (y + box.PadTop) * 70 + x + box.PadLeft]));
                }
        output.WriteLine($"largest difference {worst:E2} of 1");
        Assert.True(worst < 1e-5, $"the letterbox differs from the resample by up to {worst:E2}");
    }

    [Fact]
    public void Yolox_input_is_bgr_0_to_255_in_the_top_left_corner()
    {
        var pre = new FramePreprocessor(new InputFormat(64, 64, Bgr: true, PixelDivisor: 1, Centered: false), 1_000_000);
        var tensor = new float[pre.Format.TensorLength];

        var box = pre.Prepare(RawFrame(FrameEncoding.Rgb24), tensor, out _);

        Assert.Equal((64, 32, 0, 0), (box.ResizedWidth, box.ResizedHeight, box.PadLeft, box.PadTop));
        AssertPixel((0f, 0f, 255f), tensor, 10, 5);
        AssertPixel((255f, 0f, 0f), tensor, 50, 5);
        AssertPixel((114f, 114f, 114f), tensor, 10, 40);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_value_of_a_reused_tensor_slot_is_written_whatever_frame_came_before(bool centered)
    {
        // Slots are reused across frames of any size and only the padding around the image is filled, so a region
        // left out would carry the previous frame's values (here NaN) into the model.
        static Frame Raw(int width, int height)
        {
            var data = new byte[width * height * 3];
            for (var i = 0; i < data.Length; i++) data[i] = (byte)(i * 7 % 251);
            return new Frame { Camera = "t", Encoding = FrameEncoding.Rgb24, Width = width, Height = height, Data = data };
        }
        var format = new InputFormat(64, 64, Bgr: false, PixelDivisor: 255, Centered: centered);
        var pre = new FramePreprocessor(format, 1_000_000);
        foreach (var (width, height) in new[] { (200, 100), (100, 200), (64, 64), (37, 211) })
        {
            var reused = new float[format.TensorLength];
            Array.Fill(reused, float.NaN);
            var fresh = new float[format.TensorLength];

            pre.Prepare(Raw(width, height), reused, out _);
            pre.Prepare(Raw(width, height), fresh, out _);

            Assert.DoesNotContain(reused, float.IsNaN);
            Assert.Equal(fresh, reused);
        }
    }

    [Fact]
    public void Png_and_jpeg_decode_to_the_same_geometry_as_the_raw_image()
    {
        var pre = new FramePreprocessor(new InputFormat(64, 64, Bgr: false, PixelDivisor: 255, Centered: true), 1_000_000);
        var tensor = new float[pre.Format.TensorLength];
        var raw = RawFrame(FrameEncoding.Rgb24);
        foreach (var (format, encoding) in new[] { (SKEncodedImageFormat.Png, FrameEncoding.Png), (SKEncodedImageFormat.Jpeg, FrameEncoding.Jpeg) })
        {
            var encoded = TestImages.Encode(raw, format);

            var box = pre.Prepare(new Frame { Camera = "t", Encoding = encoding, Data = encoded }, tensor, out var timings);

            Assert.Equal((200, 100, 64, 32, 16), (box.SourceWidth, box.SourceHeight, box.ResizedWidth, box.ResizedHeight, box.PadTop));
            Assert.InRange(Pixel(tensor, 10, 30).C0, 0.9f, 1f);
            Assert.True(timings.DecodeMs > 0);
        }
    }

    [Theory]
    [InlineData(true)] // the system's libjpeg-turbo
    [InlineData(false)] // SkiaSharp
    public void Truncated_jpeg_is_rejected_as_decode_failed(bool turboJpeg)
    {
        var pre = new FramePreprocessor(new InputFormat(64, 64, false, 255, true), 10_000_000, turboJpeg: turboJpeg);
        var jpeg = File.ReadAllBytes(Testing.TestData.Sample("bus.jpg"));

        var ex = Assert.Throws<FrameDecodeException>(() =>
            pre.Prepare(new Frame { Camera = "t", Encoding = FrameEncoding.Jpeg, Data = jpeg[..(jpeg.Length / 2)] }, new float[pre.Format.TensorLength], out _));

        Assert.Equal(ErrorKinds.DecodeFailed, ex.Kind);
        Assert.Contains("truncated", ex.Message);
    }

    [Theory]
    [InlineData("horses.jpg", 640)] // 773×512 into 640: decoded in full
    [InlineData("bus.jpg", 1024)]
    public void At_full_scale_the_systems_libjpeg_turbo_gives_the_tensor_skiasharp_gives_bit_for_bit(string image, int inputSize)
    {
        var (turbo, skia, _) = BothDecoders(File.ReadAllBytes(Testing.TestData.Sample(image)), new InputFormat(inputSize, inputSize, Bgr: false, PixelDivisor: 255, Centered: true));

        Assert.True(turbo.AsSpan().SequenceEqual(skia), "the tensors differ");
    }

    [Theory]
    [InlineData("bus.jpg", false)] // 6/8 for 640
    [InlineData("bus.jpg", true)] // YOLOX 416: 4/8, BGR
    [InlineData("zidane.jpg", false)] // 5/8
    [InlineData("1080p", false)] // 4/8
    public void In_fast_mode_at_a_reduced_scale_the_systems_libjpeg_turbo_decodes_through_ycbcr_planes_to_nearly_the_same_tensor(string image, bool yolox)
    {
        var jpeg = image == "1080p" ? TestImages.ResizedJpeg("bus.jpg", 1920, 1080) : File.ReadAllBytes(Testing.TestData.Sample(image));
        var format = yolox ? new InputFormat(416, 416, Bgr: true, PixelDivisor: 1, Centered: false) : new InputFormat(640, 640, Bgr: false, PixelDivisor: 255, Centered: true);

        var (turbo, skia, box) = BothDecoders(jpeg, format);

        // Only the chroma differs (replicated instead of upsampled in the scaled IDCT), in 0..255 levels.
        var differences = turbo.Zip(skia, (a, b) => Math.Abs(a - b) * format.PixelDivisor).ToArray();
        output.WriteLine($"{image} at {box.ResizedWidth}x{box.ResizedHeight}: mean difference {differences.Average():F3} levels, largest {differences.Max():F1}");
        Assert.False(turbo.AsSpan().SequenceEqual(skia), "the same tensor: not decoded through the planes");
        Assert.True(differences.Average() < 1, $"mean difference {differences.Average():F3} levels");
        Assert.True(differences.Max() < 64, $"largest difference {differences.Max():F1} levels");
    }

    /// <summary>The tensors the system's libjpeg-turbo and SkiaSharp give <paramref name="jpeg"/>, and the letterbox (the same for both).</summary>
    private static (float[] Turbo, float[] Skia, Letterbox Box) BothDecoders(byte[] jpeg, InputFormat format)
    {
        Assert.True(!OperatingSystem.IsLinux() || TurboJpeg.Instance is not null,
            "libturbojpeg.so.0 not found: install it (Debian/Ubuntu: apt-get install libturbojpeg0); .ci/run does");
        var frame = new Frame { Camera = "t", Encoding = FrameEncoding.Jpeg, Data = jpeg };
        var (turbo, skia) = (new float[format.TensorLength], new float[format.TensorLength]);

        var box = new FramePreprocessor(format, 10_000_000, PreprocessMode.Fast, turboJpeg: true).Prepare(frame, turbo, out _);
        var skiaBox = new FramePreprocessor(format, 10_000_000, PreprocessMode.Fast, turboJpeg: false).Prepare(frame, skia, out _);

        Assert.Equal(skiaBox, box);
        return (turbo, skia, box);
    }

    [Fact]
    public void Image_larger_than_the_pixel_limit_is_rejected_before_decoding()
    {
        var pre = new FramePreprocessor(new InputFormat(64, 64, false, 255, true), 100 * 100);

        var ex = Assert.Throws<FrameDecodeException>(() => pre.Prepare(RawFrame(FrameEncoding.Rgb24), new float[pre.Format.TensorLength], out _));

        Assert.Equal(ErrorKinds.InvalidFrame, ex.Kind);
        Assert.Contains("200x100", ex.Message);
    }
}
