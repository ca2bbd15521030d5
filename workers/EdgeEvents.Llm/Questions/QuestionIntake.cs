using System.Text;
using System.Text.Json;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Llm.Questions;

/// <summary>
/// Where an answer goes: the reply topic (with the asker's correlation data) and the topic that retains the asker's
/// latest answer.
/// </summary>
internal sealed record AnswerRoute(string ReplyTopic, string RetainTopic, string? Asker)
{
    public ReadOnlyMemory<byte> CorrelationData { get; init; }
}

/// <summary>
/// A question read off the wire: valid (<see cref="Question"/> set) or rejected (<see cref="Rejection"/> set).
/// </summary>
internal sealed record IncomingQuestion(AnswerRoute Route, string Id, string Text)
{
    public Question? Question { get; init; }
    /// <summary>Why the question was refused, for the asker and the error topic.</summary>
    public string? Rejection { get; init; }
    /// <summary>One of <see cref="ErrorKinds"/> when rejected.</summary>
    public string? RejectionKind { get; init; }
}

/// <summary>
/// Reads questions from <c>{prefix}/questions[/{asker}]</c>: plain UTF-8 text (what <c>mosquitto_pub -m</c> sends)
/// or JSON <c>{id, text, camera?, replyTo?}</c> (MessagePack too, by content type). The asker is the topic level after
/// <c>questions</c>. Replies go to the MQTT 5 response topic when there is one, else to the JSON <c>replyTo</c>, else
/// to <c>{prefix}/answers/{asker}</c> (<c>{prefix}/answers</c> when anonymous).
/// <para>
/// Reply topics are checked so the worker cannot be used to publish anywhere else: no wildcards, no <c>$</c> topics,
/// nothing outside <c>{prefix}/answers</c>, and with <see cref="ReplyTopics.Own"/> (the default) nothing outside the
/// asker's own <c>{prefix}/answers/{asker}</c> tree, so an asker cannot push answers into another asker's topic. A NATS
/// request's reply inbox must be the asker's own <c>_INBOX.{asker}.…</c> (any inbox with
/// <see cref="ReplyTopics.Answers"/>).
/// </para>
/// <para>
/// The question id is the JSON <c>id</c>; without one (plain text, JSON without <c>id</c>) it is the message id the
/// transport delivered, which every redelivery of the message shares (see README, Reliability).
/// </para>
/// </summary>
internal sealed class QuestionIntake(TopicScheme topics, int maxBytes, ReplyTopics replyTopics)
{
    private const int MaxIdLength = 128;
    private const int MaxTopicLength = 256;
    private static readonly UTF8Encoding StrictUtf8 =
        new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public IncomingQuestion Read(ReceivedMessage message)
    {
        var (_, name) = topics.Parse(message.Topic);
        var askerValid = name is null || TopicScheme.IsValidName(name);
        var asker = askerValid ? name : null;
        var defaultRoute = DefaultRoute(asker) with { CorrelationData = message.CorrelationData };
        var id = message.MessageId is { Length: > 0 and <= MaxIdLength } messageId ? messageId : MessageId.New();

        // The MQTT 5 response topic wins; a bad one is refused (and the refusal goes to the default topic).
        var route = defaultRoute;
        if (message.ResponseTopic is { } responseTopic)
        {
            if (ReplyTopicProblem(responseTopic, asker) is { } problem)
                return Reject(defaultRoute, id, "", $"Response topic refused: {problem}");
            route = route with { ReplyTopic = responseTopic };
        }
        if (!askerValid)
        {
            return Reject(route, id, "",
                $"The asker '{name}' in the topic is not a valid name (letters, digits, '-' and '_', at most 128).");
        }

        if (message.Payload.Length > maxBytes)
        {
            return Reject(route, id, "", $"The question has {message.Payload.Length} bytes; the limit is {maxBytes}.",
                ErrorKinds.PayloadTooLarge);
        }
        if (message.Payload.IsEmpty) return Reject(route, id, "", "The question is empty.");

        Question question;
        if (Format(message) is { } format)
        {
            try
            {
                question = MessageCodec.Deserialize<Question>(message.Payload, ContentTypes.For(format));
            }
            catch (MessageFormatException ex)
            {
                return Reject(route, id, "", ex.Message);
            }
            if (format == PayloadFormat.Json && !HasJsonId(message.Payload.Span)) question = question with { Id = id };
            if (question.Id is not { Length: > 0 and <= MaxIdLength } || question.Id.Any(char.IsControl))
            {
                return Reject(route, id, Clean(question.Text ?? ""),
                    $"The question id must be 1 to {MaxIdLength} printable characters.");
            }
            id = question.Id;
            if (question.ReplyTo is { } replyTo && message.ResponseTopic is null)
            {
                if (ReplyTopicProblem(replyTo, asker) is { } problem)
                    return Reject(route, id, Clean(question.Text ?? ""), $"replyTo refused: {problem}");
                route = route with { ReplyTopic = replyTo };
            }
        }
        else
        {
            string text;
            try
            {
                text = StrictUtf8.GetString(message.Payload.Span);
            }
            catch (DecoderFallbackException)
            {
                return Reject(route, id, "", "The question is not valid UTF-8 text.");
            }
            question = new Question { Id = id, Text = text };
        }

        var clean = Clean(question.Text ?? "");
        if (clean.Length == 0) return Reject(route, id, "", "The question is empty.");
        if (question.Camera is { } camera && !TopicScheme.IsValidName(camera))
            return Reject(route, id, clean, $"The camera '{camera}' is not a valid name.");
        return new IncomingQuestion(route, id, clean) { Question = question with { Text = clean, Asker = asker } };
    }

    /// <summary>The asker's default reply topic, also where its latest answer is retained.</summary>
    public AnswerRoute DefaultRoute(string? asker)
    {
        var topic = topics.Answers(asker);
        return new AnswerRoute(topic, topic, asker);
    }

    private string? ReplyTopicProblem(string topic, string? asker)
    {
        if (topic.Length is 0 or > MaxTopicLength) return $"a topic has 1 to {MaxTopicLength} characters";
        if (topic.IndexOfAny(['+', '#', '\0']) >= 0) return "wildcards are not allowed";
        if (topic.StartsWith('$')) return "'$' topics are not allowed";
        if (NatsUserScope.IsInbox(topic)) return InboxProblem(topic, asker);
        var answers = topics.Answers();
        if (replyTopics == ReplyTopics.Answers)
        {
            return topic == answers || Within(topic, answers)
                ? null
                : $"only '{answers}' or '{answers}/...' is allowed";
        }
        if (asker is null) return topic == answers ? null : $"an anonymous question is answered on '{answers}' only";
        var own = topics.Answers(asker);
        return topic == own || Within(topic, own) ? null : $"only the asker's own '{own}' or '{own}/...' is allowed";
    }

    /// <summary>
    /// A NATS reply inbox (a request's reply subject): with <see cref="ReplyTopics.Own"/> only the asker's own,
    /// <c>_INBOX.{asker}.…</c>, the inboxes a logged-in asker's transport uses and only it may read.
    /// </summary>
    private string? InboxProblem(string topic, string? asker)
    {
        if (topic.IndexOfAny(['*', '>', ' ', '\t']) >= 0) return "wildcards are not allowed";
        if (replyTopics == ReplyTopics.Answers) return null;
        if (asker is null) return "an anonymous question is not answered on a NATS inbox";
        return NatsUserScope.IsInboxOf(topic, asker)
            ? null
            : $"a NATS reply inbox must be the asker's own '_INBOX.{asker}.…'";
    }

    private static bool Within(string topic, string root) => topic.StartsWith(root + "/", StringComparison.Ordinal);

    /// <summary>
    /// Whether a JSON question names its id (property names match case-insensitively, as the codec reads them).
    /// </summary>
    private static bool HasJsonId(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 &&
                    reader.GetString() is { } name && string.Equals(name, "id", StringComparison.OrdinalIgnoreCase))
                    return true;
            }
        }
        catch (JsonException)
        {
            // The codec already accepted it; a reader that disagrees means no usable id.
        }
        return false;
    }

    /// <summary>
    /// JSON or MessagePack by content type; without one, JSON when the payload is an object; null for plain text.
    /// </summary>
    private static PayloadFormat? Format(ReceivedMessage message)
    {
        if (message.ContentType is { } contentType)
        {
            return contentType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase)
                ? null
                : ContentTypes.ToFormat(contentType);
        }
        var trimmed = message.Payload.Span.TrimStart(" \t\r\n"u8);
        return trimmed.Length > 0 && trimmed[0] == (byte)'{' ? PayloadFormat.Json : null;
    }

    /// <summary>Trimmed, with control characters other than line breaks and tabs turned into spaces.</summary>
    private static string Clean(string text) =>
        string.Create(text.Length, text, static (span, t) =>
        {
            for (var i = 0; i < t.Length; i++)
                span[i] = char.IsControl(t[i]) && t[i] is not ('\n' or '\t') ? ' ' : t[i];
        }).Trim();

    private static IncomingQuestion Reject(
        AnswerRoute route, string id, string text, string reason, string kind = ErrorKinds.MalformedPayload) =>
        new(route, id, text) { Rejection = reason, RejectionKind = kind };
}
