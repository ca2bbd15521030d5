using System.Text;
using EdgeEvents.Bridge;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Fleet.Tests;

public sealed class SiteMapping_Tests
{
    private readonly SiteMapping _mapping = new("plant-a", new TopicScheme("edge"));

    [Fact]
    public void A_site_message_goes_up_under_the_site_with_its_id_retain_flag_and_correlation_data()
    {
        var message = new ReceivedMessage("edge/scene/cam1", "s"u8.ToArray())
        {
            ContentType = "application/json", Retained = true, MessageId = "m1", CorrelationData = "c"u8.ToArray(),
        };

        var up = _mapping.Up(message, Delivery.AtLeastOnce);

        Assert.Equal("sites/plant-a/edge/scene/cam1", up.Topic);
        Assert.Equal(("m1", true, "application/json", "c"), (up.MessageId, up.Retain, up.ContentType, Encoding.UTF8.GetString(up.CorrelationData.Span)));
    }

    [Fact]
    public void A_question_at_the_hub_comes_down_without_the_site_levels_and_its_response_topic_under_the_site_likewise()
    {
        var question = new ReceivedMessage("sites/plant-a/edge/questions/alice", "How many?"u8.ToArray())
        {
            MessageId = "q1", ResponseTopic = "sites/plant-a/edge/answers/alice", CorrelationData = "c"u8.ToArray(),
        };

        var down = _mapping.Down(question);

        Assert.Equal(("edge/questions/alice", "edge/answers/alice", "q1"), (down.Topic, down.ResponseTopic, down.MessageId));
        Assert.Equal("c", Encoding.UTF8.GetString(down.CorrelationData.Span));
    }

    [Theory]
    [InlineData("clients/alice/answers")]
    [InlineData("_INBOX.Jk3d9.2")]
    public void A_response_topic_outside_the_site_becomes_a_reply_level_whose_answers_go_back_to_it(string hubResponseTopic)
    {
        var down = _mapping.Down(new ReceivedMessage("sites/plant-a/edge/questions/alice", "How many?"u8.ToArray()) { ResponseTopic = hubResponseTopic });

        Assert.StartsWith("edge/answers/alice/~", down.ResponseTopic);
        Assert.Equal(hubResponseTopic, _mapping.HubTopicFor(down.ResponseTopic!));
        Assert.Equal(hubResponseTopic + "/partial", _mapping.HubTopicFor(down.ResponseTopic + "/partial"));
    }

    [Fact]
    public void An_anonymous_question_gets_its_reply_level_under_the_anonymous_answers_topic()
    {
        var down = _mapping.Down(new ReceivedMessage("sites/plant-a/edge/questions", "How many?"u8.ToArray()) { ResponseTopic = "clients/x" });

        Assert.StartsWith("edge/answers/~", down.ResponseTopic);
        Assert.Equal("clients/x", _mapping.HubTopicFor(down.ResponseTopic!));
    }

    [Fact]
    public void An_asker_answer_without_a_reply_level_goes_to_the_site_answers_at_the_hub()
    {
        Assert.Equal("sites/plant-a/edge/answers/alice", _mapping.HubTopicFor("edge/answers/alice"));
        Assert.Equal("sites/plant-a/edge/answers", _mapping.HubTopicFor("edge/answers"));
    }

    [Fact]
    public void A_hub_topic_of_another_site_is_refused()
    {
        Assert.Throws<ArgumentException>(() => _mapping.Down(new ReceivedMessage("sites/plant-b/edge/questions/alice", "x"u8.ToArray())));
    }

    [Fact]
    public void A_bad_site_name_is_a_clear_error()
    {
        var problems = new BridgeOptions { Site = "Plant_A", Hub = new() { Broker = "mqtt://hub:1883" } }.Validate(new(new object())).ToList();

        Assert.Contains(problems, p => p.ErrorMessage!.Contains("'Plant_A' is not a valid site name", StringComparison.Ordinal));
    }

    [Fact]
    public void The_hub_connection_announces_the_link_and_keeps_its_own_streams_per_site()
    {
        var hub = new BridgeOptions { Site = "plant-a", Hub = new() { Broker = "nats://hub:4222" } }.HubTransport("edge");

        Assert.Equal(new Presence("sites/plant-a/link", "1", "0"), hub.Presence);
        Assert.Equal(("sites/plant-a/edge", "bridge-plant-a", "bridge-plant-a.outbox.db"), (hub.Prefix, hub.ClientId, hub.Outbox.Path));
        Assert.Equal(("sites-plant-a", "sites-plant-a-retained"), (hub.Nats.JetStream!.Stream, hub.Nats.JetStream.RetainedStream));
        Assert.Contains("sites.plant-a.link", hub.Nats.JetStream.RetainedSubjects!);
    }

    [Fact]
    public void One_snapshot_per_camera_passes_per_interval()
    {
        var clock = new ManualClock();
        var throttle = new SnapshotThrottle(TimeSpan.FromSeconds(10), clock);

        Assert.True(throttle.Allow("cam1"));
        Assert.True(throttle.Allow("cam2"));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(throttle.Allow("cam1"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(throttle.Allow("cam1"));
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => _ticks;
        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
