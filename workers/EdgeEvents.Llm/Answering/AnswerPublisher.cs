using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Llm.Answering;

/// <summary>
/// Publishes answers (QoS 1) on their reply topic, keeps the asker's latest answer retained on its own topic with an
/// expiry, sends partial text (QoS 0) and acknowledges questions. Publishing waits for a reconnect while the link is
/// down; <paramref name="publishing"/> ends that wait once the worker has stopped and its grace period is over.
/// </summary>
internal sealed class AnswerPublisher(
    EdgeComponent component, LlmOptions options, ILogger logger, CancellationToken publishing)
{
    /// <summary>
    /// The answer on its route; retained on the asker's own topic unless <paramref name="retain"/> is false (a repeat
    /// of an older answer).
    /// </summary>
    public async Task PublishAsync(AnswerRoute route, Answer answer, bool retain = true)
    {
        var payload = MessageCodec.Serialize(answer, PayloadFormat.Json);
        var retainHere = retain && route.ReplyTopic == route.RetainTopic;
        await component.Transport.PublishAsync(new OutgoingMessage(route.ReplyTopic, payload)
        {
            ContentType = ContentTypes.Json,
            Delivery = Delivery.AtLeastOnce,
            CorrelationData = route.CorrelationData,
            MessageId = answer.Id,
            Retain = retainHere,
            Expiry = retainHere ? options.AnswerRetention : null,
        }, publishing);
        if (retainHere || !retain) return;
        // The reply went elsewhere (a response topic): keep the asker's latest answer on its own topic too.
        await component.Transport.PublishAsync(new OutgoingMessage(route.RetainTopic, payload)
        {
            ContentType = ContentTypes.Json,
            Delivery = Delivery.AtLeastOnce,
            MessageId = answer.Id,
            Retain = true,
            Expiry = options.AnswerRetention,
        }, publishing);
    }

    /// <summary>
    /// Partial text, at most once (QoS 0), fire and forget: it runs on the generation loop and must not block it.
    /// </summary>
    public void PublishPartial(PendingQuestion pending, string text)
    {
        var message = new OutgoingMessage(pending.Route.ReplyTopic + "/partial", Encoding.UTF8.GetBytes(text))
        {
            ContentType = ContentTypes.Text,
            Delivery = Delivery.AtMostOnce,
            CorrelationData = pending.Route.CorrelationData,
            MessageId = pending.Question.Id,
        };
        _ = PublishQuietlyAsync(message);
    }

    private async Task PublishQuietlyAsync(OutgoingMessage message)
    {
        try
        {
            await component.Transport.PublishAsync(message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Partial answer on {Topic} not sent", message.Topic);
        }
    }

    public async Task AckAsync(ReceivedMessage message)
    {
        try
        {
            await message.AckAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The link dropped since delivery: the broker delivers the question again and the ledger answers it again.
            logger.LogDebug(ex, "Acknowledgement of a question on {Topic} failed", message.Topic);
        }
    }
}
