using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using Xunit;

namespace EdgeEvents.Detector.Tests;

public class Letterbox_Tests
{
    [Fact]
    public void Portrait_image_is_centred_horizontally_as_ultralytics_does()
    {
        var box = Letterbox.Compute(810, 1080, 640, 640, centered: true);

        Assert.Equal((480, 640, 80, 0), (box.ResizedWidth, box.ResizedHeight, box.PadLeft, box.PadTop));
        Assert.Equal(640f / 1080, box.Scale, 6);
    }

    [Fact]
    public void Landscape_image_is_centred_vertically_with_the_minus_point_one_rounding()
    {
        var box = Letterbox.Compute(1920, 1080, 640, 640, centered: true);

        Assert.Equal((640, 360, 0, 140), (box.ResizedWidth, box.ResizedHeight, box.PadLeft, box.PadTop));
    }

    [Fact]
    public void Yolox_letterbox_keeps_the_image_in_the_top_left_corner_and_truncates_its_size()
    {
        var box = Letterbox.Compute(810, 1080, 416, 416, centered: false);

        Assert.Equal((312, 416, 0, 0), (box.ResizedWidth, box.ResizedHeight, box.PadLeft, box.PadTop));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Boxes_map_to_the_input_and_back_to_the_same_source_pixels(bool centered)
    {
        var letterbox = Letterbox.Compute(1280, 720, 640, 640, centered);
        var source = new Box(100, 50, 900, 700);

        var input = letterbox.ToInput(source);
        var back = letterbox.ToSource(input.X1, input.Y1, input.X2, input.Y2);

        Assert.Equal(centered ? 140 + 25 : 25, input.Y1, 3);
        Assert.Equal(source, back with { X1 = MathF.Round(back.X1, 3), Y1 = MathF.Round(back.Y1, 3), X2 = MathF.Round(back.X2, 3), Y2 = MathF.Round(back.Y2, 3) });
    }

    [Fact]
    public void Boxes_reaching_into_the_padding_are_clipped_to_the_source_image()
    {
        var letterbox = Letterbox.Compute(810, 1080, 640, 640, centered: true);

        var box = letterbox.ToSource(60, -10, 700, 650);

        Assert.Equal(new Box(0, 0, 810, 1080), box);
    }
}
