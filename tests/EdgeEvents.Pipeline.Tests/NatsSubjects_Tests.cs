using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Pipeline.Tests;

/// <summary>MQTT-form topics and filters against NATS subjects, as the NATS transport maps them.</summary>
public sealed class NatsSubjects_Tests
{
    [Theory]
    [InlineData("edge/frames/+", "edge.frames.*")]
    [InlineData("edge/questions/#", "edge.questions|edge.questions.>")]
    [InlineData("#", ">")]
    [InlineData("_INBOX.abc.def", "_INBOX.abc.def")]
    public void An_MQTT_filter_becomes_the_NATS_subjects_matching_the_same_topics(string filter, string subjects) =>
        Assert.Equal(subjects.Split('|'), NatsSubjects.ForFilter(filter));

    [Theory]
    [InlineData("edge.frames.cam1", "edge/frames/cam1")]
    [InlineData("_INBOX.abc.1", "_INBOX.abc.1")]
    public void A_received_subject_becomes_an_MQTT_topic_except_a_reply_inbox(string subject, string topic) =>
        Assert.Equal(topic, NatsSubjects.ToTopic(subject));

    [Theory]
    [InlineData("edge.>", "edge.scene.>", "edge.scene.>")]
    [InlineData("edge.*.cam1", "edge.scene.>", "edge.scene.cam1")]
    [InlineData("edge.scene.cam1", "edge.scene.>", "edge.scene.cam1")]
    [InlineData("edge.*.*", "edge.status.>", "edge.status.*")]
    [InlineData("edge.questions", "edge.questions.>", null)]
    [InlineData("edge.frames.*", "edge.scene.>", null)]
    [InlineData("edge.scene.cam1.x", "edge.scene.*", null)]
    public void Two_subjects_intersect_in_what_both_match(string a, string b, string? expected)
    {
        Assert.Equal(expected, NatsSubjects.Intersect(a, b));
        Assert.Equal(expected, NatsSubjects.Intersect(b, a));
    }

    [Theory]
    [InlineData("edge.events.>", "edge.events.cam1", true)]
    [InlineData("edge.events.>", "edge.events.cam1.extra", true)]
    [InlineData("edge.events.>", "edge.events", false)]
    [InlineData("edge.questions", "edge.questions", true)]
    [InlineData("edge.questions", "edge.questions.alice", false)]
    [InlineData("edge.*.cam1", "edge.scene.cam1", true)]
    [InlineData("edge.*.cam1", "edge.scene.cam2", false)]
    [InlineData("edge.*", "edge.scene.cam1", false)]
    public void A_pattern_matches_a_concrete_subject_as_NATS_does(string pattern, string subject, bool matches) =>
        Assert.Equal(matches, NatsSubjects.Matches(pattern, subject));

    [Fact]
    public async Task A_transport_that_never_reached_its_server_disposes_promptly()
    {
        var options = TestTransports.Options($"nats://127.0.0.1:{FreePort.Next()}");
        var transport = new NatsTransport(options, NatsOptions.Default, BrokerAddress.Parse(options.Broker), new TopicScheme(), "test", "unreachable", NullLogger.Instance);
        using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => transport.ConnectAsync(attempt.Token));
        await transport.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(transport.IsConnected);
    }
}
