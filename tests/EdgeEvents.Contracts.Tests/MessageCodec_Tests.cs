using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using MessagePack;

namespace EdgeEvents.Contracts.Tests;

public sealed class MessageCodec_Tests
{
    private static DetectionSet Sample() => new()
    {
        Camera = "cam1", FrameSequence = 42, CapturedAt = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero), ModelId = "yolov8n",
        ImageWidth = 810, ImageHeight = 1080,
        Detections = [new Detection { ClassId = 5, Label = "bus", Confidence = 0.87f, Box = new Box(22, 231, 805, 756) }],
        Timings = new StageTimings { DecodeMs = 4.5, InferenceMs = 60 },
    };

    [Theory]
    [InlineData(PayloadFormat.Json)]
    [InlineData(PayloadFormat.MessagePack)]
    public void A_detection_set_survives_a_round_trip(PayloadFormat format)
    {
        var original = Sample();
        var bytes = MessageCodec.Serialize(original, format);
        var decoded = MessageCodec.Deserialize<DetectionSet>(bytes, ContentTypes.For(format));

        Assert.Equal(original.Id, decoded.Id);
        Assert.Equal(original.CapturedAt, decoded.CapturedAt);
        Assert.Equal(original.Detections.Single(), decoded.Detections.Single());
        Assert.Equal(original.Timings, decoded.Timings);
    }

    [Fact]
    public void Json_is_camel_case_for_dashboards()
    {
        var json = Encoding.UTF8.GetString(MessageCodec.Serialize(Sample(), PayloadFormat.Json));
        Assert.Contains("\"frameSequence\":42", json);
        Assert.Contains("\"label\":\"bus\"", json);
        Assert.Contains("\"box\":{\"x1\":22,\"y1\":231,\"x2\":805,\"y2\":756}", json);
    }

    [Fact]
    public void Without_a_content_type_the_format_is_sniffed()
    {
        var original = Sample();
        Assert.Equal(original.Id, MessageCodec.Deserialize<DetectionSet>(MessageCodec.Serialize(original, PayloadFormat.Json)).Id);
        Assert.Equal(original.Id, MessageCodec.Deserialize<DetectionSet>(MessageCodec.Serialize(original, PayloadFormat.MessagePack)).Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"camera\": 5, \"frameSequence\": \"x\"}")]
    [InlineData("[1,2,3]")]
    [InlineData("null")]
    public void Malformed_json_raises_a_format_error_that_names_the_type(string payload)
    {
        var ex = Assert.Throws<MessageFormatException>(() => MessageCodec.Deserialize<DetectionSet>(Encoding.UTF8.GetBytes(payload), ContentTypes.Json));
        Assert.Contains(payload.Length == 0 ? "Empty payload" : "DetectionSet", ex.Message);
    }

    [Fact]
    public void Messagepack_of_the_wrong_shape_raises_a_format_error()
    {
        var wrongShape = MessagePackSerializer.Serialize(new object[] { "not", 1, "a detection set" });
        Assert.Throws<MessageFormatException>(() => MessageCodec.Deserialize<DetectionSet>(wrongShape, ContentTypes.MessagePack));
        Assert.Throws<MessageFormatException>(() => MessageCodec.Deserialize<DetectionSet>(new byte[] { 0xdd, 0xff, 0xff, 0xff, 0xff }, ContentTypes.MessagePack));
    }

    [Fact]
    public void Box_iou_is_symmetric_and_zero_for_disjoint_boxes()
    {
        var a = new Box(0, 0, 10, 10);
        var b = new Box(5, 0, 15, 10);
        Assert.Equal(50f / 150f, a.IoU(b), 5);
        Assert.Equal(a.IoU(b), b.IoU(a));
        Assert.Equal(0, a.IoU(new Box(20, 20, 30, 30)));
        Assert.Equal(1, a.IoU(a));
    }
}
