using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Contracts.Tests;

public sealed class TopicScheme_Tests
{
    private readonly TopicScheme _topics = new("edge");

    [Fact]
    public void Topics_follow_the_documented_scheme()
    {
        Assert.Equal("edge/frames/cam1", _topics.Frames("cam1"));
        Assert.Equal("edge/detections/cam1", _topics.Detections("cam1"));
        Assert.Equal("edge/scene/cam1", _topics.Scene("cam1"));
        Assert.Equal("edge/events/cam1", _topics.Events("cam1"));
        Assert.Equal("edge/questions", _topics.Questions());
        Assert.Equal("edge/answers/alice", _topics.Answers("alice"));
        Assert.Equal("edge/status/detector", _topics.Status("detector"));
        Assert.Equal("edge/errors/scene", _topics.Errors("scene"));
        Assert.Equal("edge/frames/+", _topics.AllOf(TopicKind.Frames));
        Assert.Equal("edge/questions/#", _topics.AllOf(TopicKind.Questions));
    }

    [Theory]
    [InlineData("edge/frames/cam1", TopicKind.Frames, "cam1")]
    [InlineData("edge/questions", TopicKind.Questions, null)]
    [InlineData("edge/questions/alice", TopicKind.Questions, "alice")]
    [InlineData("edge/frames", TopicKind.Unknown, null)]
    [InlineData("edge/frames/a/b", TopicKind.Unknown, null)]
    [InlineData("other/frames/cam1", TopicKind.Unknown, null)]
    [InlineData("edge/bogus/cam1", TopicKind.Unknown, null)]
    public void Parse_splits_a_topic_into_kind_and_name(string topic, TopicKind kind, string? name) =>
        Assert.Equal((kind, name), _topics.Parse(topic));

    [Theory]
    [InlineData("cam/1")]
    [InlineData("cam+")]
    [InlineData("cam#")]
    [InlineData("")]
    [InlineData("cam.1")]
    public void Names_that_would_break_a_topic_or_subject_are_refused(string name) =>
        Assert.Throws<ArgumentException>(() => _topics.Frames(name));

    [Fact]
    public void Nats_subjects_are_the_same_names_with_dots()
    {
        Assert.Equal("edge.frames.*", TopicScheme.ToNatsSubject("edge/frames/+"));
        Assert.Equal("edge.questions.>", TopicScheme.ToNatsSubject("edge/questions/#"));
        Assert.Equal("edge/frames/cam1", TopicScheme.FromNatsSubject("edge.frames.cam1"));
    }

    [Theory]
    [InlineData("edge/frames/+", "edge/frames/cam1", true)]
    [InlineData("edge/frames/+", "edge/frames/cam1/x", false)]
    [InlineData("edge/#", "edge/frames/cam1", true)]
    [InlineData("edge/questions/#", "edge/questions", true)]
    [InlineData("$share/g/edge/frames/+", "edge/frames/cam1", true)]
    [InlineData("edge/scene/cam1", "edge/scene/cam2", false)]
    public void Filters_match_like_mqtt(string filter, string topic, bool matches) =>
        Assert.Equal(matches, TopicScheme.Matches(filter, topic));
}
