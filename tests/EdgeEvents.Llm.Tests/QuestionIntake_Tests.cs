using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Llm.Tests;

public sealed class QuestionIntake_Tests
{
    private readonly QuestionIntake _intake = new(new TopicScheme("edge"), maxBytes: 4096);

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
        var incoming = _intake.Read(Message("edge/questions/bob", """{"id":"q-1","text":"Is there a dog?","camera":"cam2","replyTo":"edge/answers/bob/kitchen"}"""));

        Assert.Null(incoming.Rejection);
        Assert.Equal("q-1", incoming.Id);
        Assert.Equal("cam2", incoming.Question!.Camera);
        Assert.Equal("edge/answers/bob/kitchen", incoming.Route.ReplyTopic);
        Assert.Equal("edge/answers/bob", incoming.Route.RetainTopic);
    }

    [Fact]
    public void Mqtt5_response_topic_and_correlation_data_win_over_the_default_route()
    {
        var message = Message("edge/questions/carol", "What do you see?") with { ResponseTopic = "lab/replies/7", CorrelationData = new byte[] { 9, 8, 7 } };

        var incoming = _intake.Read(message);

        Assert.Equal("lab/replies/7", incoming.Route.ReplyTopic);
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

    [Fact]
    public void Control_characters_in_a_question_become_spaces()
    {
        var incoming = _intake.Read(Message("edge/questions/alice", "How\u0000 many\u001b[31m people?"));

        Assert.Equal("How  many [31m people?", incoming.Question!.Text);
    }
}
