using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Fleet.Tests;

/// <summary>Questions asked at the hub of one site (<c>sites/{site}/edge/questions/{asker}</c>) and their answers.</summary>
internal static class HubQuestions
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static async Task AskAsync(IMessageTransport hub, string site, string asker, string id)
    {
        var question = new Question { Id = id, Text = "How many people do you see?" };
        await hub.PublishAsync(new OutgoingMessage(new FleetTopics().ForSite(site).Questions(asker), MessageCodec.Serialize(question, PayloadFormat.Json))
        {
            ContentType = ContentTypes.Json, MessageId = id,
        }, default);
    }

    /// <summary>The answer to <paramref name="questionId"/> on exactly <paramref name="topic"/>: it came back from the site asked.</summary>
    public static async Task<Answer> AnswerAsync(IMessageSubscription answers, string topic, string questionId)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            var message = await answers.Messages.ReadAsync(timeout.Token);
            if (message.Topic != topic) continue;
            var answer = MessageCodec.Deserialize<Answer>(message.Payload, message.ContentType);
            if (answer.QuestionId == questionId) return answer;
        }
    }
}
