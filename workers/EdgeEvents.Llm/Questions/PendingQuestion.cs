using EdgeEvents.Contracts.Messages;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Llm.Questions;

/// <summary>A question taken off the wire and not yet answered, with the message to acknowledge once it is.</summary>
internal sealed record PendingQuestion(Question Question, AnswerRoute Route, ReceivedMessage Message, long ReceivedAt)
{
    /// <summary>Redeliveries of the same question that arrived while it was being answered.</summary>
    public List<ReceivedMessage> Duplicates { get; } = [];

    /// <summary>
    /// When it was asked: its <c>createdAt</c>, or its receipt when that is earlier (a fast or missing asker clock).
    /// </summary>
    public DateTimeOffset AskedAt => Question.CreatedAt < Message.ReceivedAt ? Question.CreatedAt : Message.ReceivedAt;
}
