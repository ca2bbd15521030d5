using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Llm.Tests;

public sealed class QuestionIntake_Tests
{
    private readonly QuestionIntake _intake = new(new TopicScheme("edge"), maxBytes: 4096, ReplyTopics.Own);

    private static ReceivedMessage Message(string topic, string payload, string? contentType = null) =>
        new(topic, Encoding.UTF8.GetBytes(payload)) { ContentType = contentType };

    [Fact]
    public void Plain_text_question_takes_the_asker_from_the_topic_and_replies_on_its_answers_topic()
    {
        var incoming = _intake.Read(Message("edge/questions/alice", "  How many people?\n"));

        Assert.Null(incoming.Rejection);
        Assert.Equal("How many people?", incoming.Question!.Text);
        Assert.Equal("alice", incoming.Question.Asker);
        Assert.Equal(32, incoming.Id.Length);
        Assert.Equal("edge/answers/alice", incoming.Route.ReplyTopic);
        Assert.Equal("edge/answers/alice", incoming.Route.RetainTopic);
    }

    [Fact]
    public void Anonymous_question_is_answered_on_the_plain_answers_topic()
    {
        var incoming = _intake.Read(Message("edge/questions", "Any cars?"));

        Assert.Null(incoming.Question!.Asker);
        Assert.Equal("edge/answers", incoming.Route.ReplyTopic);
    }

    [Fact]
    public void Json_question_carries_its_id_camera_and_reply_topic()
    {
        var question = """{"id":"q-1","text":"Is there a dog?","camera":"cam2","replyTo":"edge/answers/bob/kitchen"}""";
        var incoming = _intake.Read(Message("edge/questions/bob", question));

        Assert.Null(incoming.Rejection);
        Assert.Equal("q-1", incoming.Id);
        Assert.Equal("cam2", incoming.Question!.Camera);
        Assert.Equal("edge/answers/bob/kitchen", incoming.Route.ReplyTopic);
        Assert.Equal("edge/answers/bob", incoming.Route.RetainTopic);
    }

    [Fact]
    public void Mqtt5_response_topic_and_correlation_data_win_over_the_default_route()
    {
        var message = Message("edge/questions/carol", "What do you see?") with
        {
            ResponseTopic = "edge/answers/carol/7",
            CorrelationData = new byte[] { 9, 8, 7 },
        };

        var incoming = _intake.Read(message);

        Assert.Equal("edge/answers/carol/7", incoming.Route.ReplyTopic);
        Assert.Equal(new byte[] { 9, 8, 7 }, incoming.Route.CorrelationData.ToArray());
        Assert.Equal("edge/answers/carol", incoming.Route.RetainTopic);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   \n\t ", "empty")]
    [InlineData("""{"id":5,"text":"How many?"}""", "Malformed Json Question")]
    [InlineData("""{"id":"q","text":["How many?"]}""", "Malformed Json Question")]
    [InlineData("""{"id":"q","text":"How many?","camera":7}""", "Malformed Json Question")]
    [InlineData("""{"id":"q"}""", "Malformed Json Question")]
    [InlineData("""{"id":"q","text":"hi","camera":"cam/1"}""", "not a valid name")]
    [InlineData("""{"id":"q","text":"hi","replyTo":"edge/scene/cam1"}""", "replyTo refused")]
    [InlineData("""{"id":"q","text":"hi","replyTo":"edge/answers/#"}""", "wildcards")]
    public void Bad_questions_are_rejected_with_a_reason(string payload, string reason)
    {
        var incoming = _intake.Read(Message("edge/questions/dave", payload));

        Assert.Null(incoming.Question);
        Assert.Contains(reason, incoming.Rejection);
        Assert.Equal("edge/answers/dave", incoming.Route.ReplyTopic);
    }

    [Fact]
    public void Oversize_and_invalid_utf8_questions_are_rejected()
    {
        var big = _intake.Read(new ReceivedMessage("edge/questions/eve", new byte[1 << 20]));
        var binary = _intake.Read(new ReceivedMessage("edge/questions/eve", new byte[] { 0x48, 0xC3, 0x28, 0xFF }));

        Assert.Equal(ErrorKinds.PayloadTooLarge, big.RejectionKind);
        Assert.Equal("The question has 1048576 bytes; the limit is 4096.", big.Rejection);
        Assert.Equal("The question is not valid UTF-8 text.", binary.Rejection);
    }

    [Fact]
    public void A_response_topic_inside_the_pipeline_is_refused_and_the_refusal_goes_to_the_default_topic()
    {
        var incoming = _intake.Read(Message("edge/questions/mallory", "hi") with { ResponseTopic = "edge/scene/cam1" });

        Assert.Contains("Response topic refused", incoming.Rejection);
        Assert.Equal("edge/answers/mallory", incoming.Route.ReplyTopic);
    }

    /// <summary>Issue 24, finding 3: an asker must not push answers into another asker's topic.</summary>
    [Theory]
    [InlineData("edge/answers/bob")]
    [InlineData("edge/answers/bob/partial")]
    [InlineData("edge/answers/malloryx")]
    [InlineData("edge/answers")]
    public void A_reply_topic_of_another_asker_is_refused_and_the_refusal_goes_to_the_askers_own_topic(string replyTo)
    {
        var byProperty = _intake.Read(Message("edge/questions/mallory", "hi") with
        {
            ResponseTopic = replyTo,
            CorrelationData = new byte[] { 4, 2 },
        });
        var byJson = _intake.Read(
            Message("edge/questions/mallory", $$"""{"id":"q","text":"hi","replyTo":"{{replyTo}}"}"""));

        Assert.Contains("only the asker's own 'edge/answers/mallory'", byProperty.Rejection);
        Assert.Contains("only the asker's own 'edge/answers/mallory'", byJson.Rejection);
        Assert.Equal("edge/answers/mallory", byProperty.Route.ReplyTopic);
        Assert.Equal("edge/answers/mallory", byJson.Route.ReplyTopic);
    }

    /// <summary>Issue 24, finding 4: never outside the prefix, whatever the reply-topic policy.</summary>
    [Theory]
    [InlineData(ReplyTopics.Own, "other/stuff")]
    [InlineData(ReplyTopics.Own, "zigbee2mqtt/lock/set")]
    [InlineData(ReplyTopics.Answers, "zigbee2mqtt/lock/set")]
    [InlineData(ReplyTopics.Answers, "edge/scene/cam1")]
    public void A_reply_topic_outside_the_answers_tree_is_refused_under_either_policy(
        ReplyTopics policy, string replyTo)
    {
        var intake = new QuestionIntake(new TopicScheme("edge"), maxBytes: 4096, policy);

        var incoming = intake.Read(Message("edge/questions/mallory", "hi") with { ResponseTopic = replyTo });

        Assert.Contains("Response topic refused", incoming.Rejection);
        Assert.Equal("edge/answers/mallory", incoming.Route.ReplyTopic);
    }

    [Fact]
    public void The_answers_policy_lets_a_trusted_asker_reply_into_another_askers_topic()
    {
        var intake = new QuestionIntake(new TopicScheme("edge"), maxBytes: 4096, ReplyTopics.Answers);

        var incoming = intake.Read(
            Message("edge/questions/console", "hi") with { ResponseTopic = "edge/answers/wall-display" });

        Assert.Null(incoming.Rejection);
        Assert.Equal("edge/answers/wall-display", incoming.Route.ReplyTopic);
    }

    /// <summary>Issue 24 on NATS: a request's reply inbox must be the asker's own, <c>_INBOX.{asker}.…</c>.</summary>
    [Theory]
    [InlineData(ReplyTopics.Own, "edge/questions/mallory", "_INBOX.mallory.k3J9.2", true)]
    [InlineData(ReplyTopics.Own, "edge/questions/mallory", "_INBOX.bob.k3J9.2", false)]
    [InlineData(ReplyTopics.Own, "edge/questions/mallory", "_INBOX.k3J9.2", false)]
    [InlineData(ReplyTopics.Own, "edge/questions/mallory", "_INBOX.malloryx.k3J9.2", false)]
    [InlineData(ReplyTopics.Own, "edge/questions", "_INBOX.k3J9.2", false)]
    [InlineData(ReplyTopics.Own, "edge/questions/mallory", "_INBOX.mallory.>", false)]
    [InlineData(ReplyTopics.Answers, "edge/questions/mallory", "_INBOX.bob.k3J9.2", true)]
    public void A_nats_reply_inbox_is_accepted_only_when_it_is_the_askers_own(
        ReplyTopics policy, string topic, string inbox, bool accepted)
    {
        var intake = new QuestionIntake(new TopicScheme("edge"), maxBytes: 4096, policy);

        var incoming = intake.Read(Message(topic, "hi") with { ResponseTopic = inbox });

        Assert.Equal(accepted, incoming.Rejection is null);
        Assert.Equal(accepted ? inbox : topic.Replace("questions", "answers"), incoming.Route.ReplyTopic);
    }

    /// <summary>
    /// Issue 20: a question without an id of its own takes the transport's message id, which its redeliveries share.
    /// </summary>
    [Theory]
    [InlineData("What do you see?", null)]
    [InlineData("""{"text":"What do you see?"}""", "application/json")]
    [InlineData("""{"Text":"What do you see?","camera":"cam1"}""", null)]
    public void A_question_without_an_id_takes_the_delivered_message_id(string payload, string? contentType)
    {
        var message = Message("edge/questions/alice", payload, contentType) with { MessageId = "delivery-7" };

        var first = _intake.Read(message);
        var again = _intake.Read(message);

        Assert.Null(first.Rejection);
        Assert.Equal(("delivery-7", "delivery-7"), (first.Question!.Id, again.Question!.Id));
    }

    [Fact]
    public void A_json_question_with_its_own_id_keeps_it_whatever_the_message_id()
    {
        var incoming = _intake.Read(
            Message("edge/questions/alice", """{"ID":"q-9","text":"hi"}""") with { MessageId = "delivery-8" });

        Assert.Equal("q-9", incoming.Question!.Id);
    }

    [Fact]
    public void Control_characters_in_a_question_become_spaces()
    {
        var incoming = _intake.Read(Message("edge/questions/alice", "How\u0000 many\u001b[31m people?"));

        Assert.Equal("How  many [31m people?", incoming.Question!.Text);
    }
}
