using EdgeEvents.Detector.Imaging;

namespace EdgeEvents.Detector.Tests;

public class ResizeKernel_Tests
{
    [Theory]
    [InlineData(810, 480)] // bus.jpg's width into 640×640
    [InlineData(608, 480)] // the same from its 6/8 decode
    [InlineData(1080, 640)]
    [InlineData(7, 3)]
    [InlineData(100, 300)] // enlarging: a plain bicubic, four taps
    [InlineData(5, 5)]
    public void Each_window_holds_exactly_the_source_pixels_inside_the_kernel_and_its_weights_sum_to_one(int source, int target)
    {
        var kernel = ResizeKernel.Create(source, target);
        var scale = Math.Max(1.0, (double)source / target);

        for (var i = 0; i < target; i++)
        {
            var center = (i + 0.5) * source / target - 0.5;
            // From the first to the last source pixel the kernel gives weight (Keys bicubic, support 2 × the shrink ratio).
            var inside = Enumerable.Range(0, source).Where(j => Keys(Math.Abs((float)((j - center) / scale))) != 0).ToList();
            var weights = kernel.Weights.AsSpan(i * kernel.Stride, kernel.Stride);

            Assert.Equal((inside[0], inside[^1] - inside[0] + 1), (kernel.Start[i], kernel.Count[i]));
            Assert.Equal(1f, weights[..kernel.Count[i]].ToArray().Sum(), 4);
            Assert.All(weights[kernel.Count[i]..].ToArray(), w => Assert.Equal(0f, w));
        }
        Assert.Equal(kernel.Count.Max(), kernel.Taps);
    }

    // In float, as the weights are computed: a pixel 2 − 1e-7 kernel widths away rounds to 2 and weighs nothing.
    private static float Keys(float x) => x <= 1 ? (1.5f * x - 2.5f) * x * x + 1 : x < 2 ? ((-0.5f * x + 2.5f) * x - 4) * x + 2 : 0;
}
