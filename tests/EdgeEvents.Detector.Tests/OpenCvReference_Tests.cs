using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Testing;
using OpenCvSharp;
using Xunit;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

/// <summary>
/// The Reference preprocessing against OpenCV itself (OpenCvSharp's official build, test-only): what Ultralytics'
/// <c>LetterBox</c> and YOLOX's <c>preproc</c> compute with <c>cv2.imread</c>, <c>cv2.resize(INTER_LINEAR)</c> and
/// a 114 pad.
/// </summary>
public class OpenCvReference_Tests(ITestOutputHelper output)
{
    public static TheoryData<string> Samples() => new(Directory.GetFiles(TestData.SamplesFolder, "*.jpg").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(Samples))]
    public void A_full_scale_decode_gives_the_pixels_opencvs_imread_gives(string sample)
    {
        var jpeg = File.ReadAllBytes(TestData.Sample(sample));
        using var bgr = Cv2.ImDecode(jpeg, ImreadModes.Color);
        var pre = new FramePreprocessor(new InputFormat(640, 640, Bgr: false, PixelDivisor: 255, Centered: true), 100_000_000);

        pre.Prepare(new Frame { Camera = "t", Encoding = FrameEncoding.Jpeg, Data = jpeg }, new float[pre.Format.TensorLength], out _);
        var decoded = pre.CopyDecoded()!;

        var (width, height, pixels) = (bgr.Width, bgr.Height, Bytes(bgr));
        Assert.Equal((width, height), (decoded.Width, decoded.Height));
        var differing = 0;
        for (var i = 0; i < width * height; i++)
            if (decoded.Rgba[i * 4] != pixels[i * 3 + 2] || decoded.Rgba[i * 4 + 1] != pixels[i * 3 + 1] || decoded.Rgba[i * 4 + 2] != pixels[i * 3]) differing++;
        decoded.Release();
        output.WriteLine($"{sample} {width}x{height}: {differing} pixels differ from imread");
        Assert.Equal(0, differing);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_yolov8_tensor_is_opencvs_resize_and_pad_within_one_level(string sample) =>
        CompareWithOpenCv(sample, new InputFormat(640, 640, Bgr: false, PixelDivisor: 255, Centered: true));

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_yolox_tensor_is_opencvs_resize_and_pad_within_one_level(string sample) =>
        CompareWithOpenCv(sample, new InputFormat(416, 416, Bgr: true, PixelDivisor: 1, Centered: false));

    [Theory]
    [InlineData(157, 93, 70)] // odd widths: OpenCV's SIMD loop leaves a scalar tail
    [InlineData(23, 17, 70)] // enlarging
    [InlineData(140, 60, 70)] // an exact halving, which OpenCV does as INTER_AREA
    public void A_raw_bgr_frame_of_any_size_is_resized_as_opencv_resizes_it(int width, int height, int size)
    {
        var data = new byte[width * height * 3];
        new Random(11).NextBytes(data);
        using var bgr = Mat.FromPixelData(height, width, MatType.CV_8UC3, data);
        var format = new InputFormat(size, size, Bgr: true, PixelDivisor: 1, Centered: true);

        var (exact, worst) = Compare(bgr, new Frame { Camera = "t", Encoding = FrameEncoding.Bgr24, Width = width, Height = height, Data = data }, format);

        output.WriteLine($"{width}x{height} into {size}: {exact:P3} of the values equal, largest difference {worst}");
        Assert.InRange(worst, 0, 1);
        Assert.True(exact > 0.99, $"only {exact:P3} exactly equal");
    }

    private void CompareWithOpenCv(string sample, InputFormat format)
    {
        var jpeg = File.ReadAllBytes(TestData.Sample(sample));
        using var bgr = Cv2.ImDecode(jpeg, ImreadModes.Color);

        var (exact, worst) = Compare(bgr, new Frame { Camera = "t", Encoding = FrameEncoding.Jpeg, Data = jpeg }, format);

        output.WriteLine($"{sample} {bgr.Width}x{bgr.Height} into {format.Width}: {exact:P3} of the values equal, largest difference {worst} level(s)");
        Assert.InRange(worst, 0, 1);
        Assert.True(exact > 0.99, $"only {exact:P3} exactly equal");
    }

    /// <summary>The share of tensor values equal to OpenCV's letterbox of <paramref name="bgr"/>, and the largest difference in 8-bit levels.</summary>
    private static (double Exact, int Worst) Compare(Mat bgr, Frame frame, InputFormat format)
    {
        var pre = new FramePreprocessor(format, 100_000_000, PreprocessMode.Reference);
        var tensor = new float[format.TensorLength];
        var box = pre.Prepare(frame, tensor, out _);
        Assert.Equal(Letterbox.Compute(bgr.Width, bgr.Height, format.Width, format.Height, format.Centered), box);

        using var resized = new Mat();
        // Ultralytics skips the resize when the size is already right; OpenCV's resize would copy.
        Cv2.Resize(bgr, resized, new Size(box.ResizedWidth, box.ResizedHeight), 0, 0, InterpolationFlags.Linear);
        using var padded = new Mat(format.Height, format.Width, MatType.CV_8UC3, new Scalar(114, 114, 114));
        resized.CopyTo(padded[new Rect(box.PadLeft, box.PadTop, box.ResizedWidth, box.ResizedHeight)]);

        var (equal, worst, plane, pixels) = (0, 0, format.Width * format.Height, Bytes(padded));
        for (var i = 0; i < plane; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                var expected = pixels[i * 3 + (format.Bgr ? c : 2 - c)];
                var actual = (int)MathF.Round(tensor[c * plane + i] * format.PixelDivisor);
                var difference = Math.Abs(actual - expected);
                if (difference == 0) equal++;
                worst = Math.Max(worst, difference);
            }
        }
        return ((double)equal / format.TensorLength, worst);
    }

    /// <summary>The interleaved BGR bytes of a continuous 8-bit, 3-channel image.</summary>
    private static byte[] Bytes(Mat image)
    {
        Assert.True(image.IsContinuous());
        var bytes = new byte[image.Rows * image.Cols * 3];
        System.Runtime.InteropServices.Marshal.Copy(image.Data, bytes, 0, bytes.Length);
        return bytes;
    }
}
