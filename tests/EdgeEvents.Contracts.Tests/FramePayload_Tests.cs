using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Testing;

namespace EdgeEvents.Contracts.Tests;

public sealed class FramePayload_Tests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_bare_jpeg_becomes_a_frame_of_the_topic_camera()
    {
        var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        var frame = FramePayload.Parse(jpeg, "cam9", 17, Now);
        Assert.Equal(("cam9", 17L, FrameEncoding.Jpeg, Now, jpeg.Length), (frame.Camera, frame.Sequence, frame.Encoding, frame.CapturedAt, frame.Data.Length));
    }

    [Fact]
    public void A_bare_png_is_recognised_by_its_signature()
    {
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        Assert.Equal(FrameEncoding.Png, FramePayload.Parse(png, "c", 0, Now).Encoding);
    }

    [Fact]
    public void An_envelope_keeps_its_own_camera_sequence_and_capture_time()
    {
        var original = new Frame { Camera = "door", Sequence = 5, CapturedAt = Now, Encoding = FrameEncoding.Rgb24, Width = 2, Height = 1, Data = new byte[6] };
        var frame = FramePayload.Parse(MessageCodec.Serialize(original, PayloadFormat.MessagePack), "ignored", 0, Now.AddSeconds(1));
        Assert.Equal(("door", 5L, Now, 2, 1), (frame.Camera, frame.Sequence, frame.CapturedAt, frame.Width, frame.Height));
    }

    [Theory]
    [InlineData(2, 2, 6)]
    [InlineData(0, 1, 0)]
    [InlineData(-3, 1, 9)]
    [InlineData(20000, 1, 60000)]
    public void A_raw_frame_whose_size_does_not_match_its_dimensions_is_rejected(int width, int height, int bytes)
    {
        var frame = new Frame { Camera = "c", Encoding = FrameEncoding.Bgr24, Width = width, Height = height, Data = new byte[Math.Max(1, bytes)] };
        var ex = Assert.Throws<MessageFormatException>(() => FramePayload.Parse(MessageCodec.Serialize(frame, PayloadFormat.MessagePack), "c", 0, Now));
        Assert.Contains("Raw", ex.Message);
    }

    [Fact]
    public void Empty_and_random_payloads_are_rejected_with_a_clear_error()
    {
        Assert.Contains("Empty", Assert.Throws<MessageFormatException>(() => FramePayload.Parse(Array.Empty<byte>(), "c", 0, Now)).Message);
        var random = new byte[512];
        new Random(7).NextBytes(random);
        random[0] = 0x93; // a MessagePack array header that does not describe a Frame
        Assert.Throws<MessageFormatException>(() => FramePayload.Parse(random, "c", 0, Now));
    }
}
