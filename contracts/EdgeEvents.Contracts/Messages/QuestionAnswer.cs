using MessagePack;

namespace EdgeEvents.Contracts.Messages;

/// <summary>
/// A question for the LLM worker. Plain UTF-8 text is accepted too on <c>{prefix}/questions[/{asker}]</c>.
/// </summary>
[MessagePackObject]
public sealed record Question : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Text { get; init; }
    /// <summary>Limit the answer to one camera; all cameras when null.</summary>
    [Key(4)] public string? Camera { get; init; }
    /// <summary>Who asked; taken from the topic when absent.</summary>
    [Key(5)] public string? Asker { get; init; }
    /// <summary>Topic for the answer; overrides the default <c>{prefix}/answers/{asker}</c>.</summary>
    [Key(6)] public string? ReplyTo { get; init; }
}

/// <summary>What one camera showed when a question was answered.</summary>
[MessagePackObject]
public sealed record CameraFacts
{
    [Key(0)] public required string Camera { get; init; }
    [Key(1)] public DateTimeOffset At { get; init; }
    [Key(2)] public IReadOnlyDictionary<string, int> Counts { get; init; } = new Dictionary<string, int>();
    [Key(3)] public IReadOnlyList<SceneObject> Objects { get; init; } = [];
    /// <summary>Ids of the scene events the answer used.</summary>
    [Key(4)] public IReadOnlyList<string> EventIds { get; init; } = [];
}

public static class AnswerStatus
{
    public const string Ok = "ok";
    /// <summary>Generation exceeded its time budget; <c>FactsAnswer</c> holds the answer.</summary>
    public const string Timeout = "timeout";
    /// <summary>Generation failed; <c>FactsAnswer</c> holds the answer.</summary>
    public const string Error = "error";
    /// <summary>The question itself was invalid (empty, too long, not text).</summary>
    public const string Rejected = "rejected";
    /// <summary>The question waited longer than the worker's <c>QuestionMaxAge</c>; it was not answered.</summary>
    public const string Expired = "expired";
    /// <summary>The worker's queue is full; the question was not taken. Ask again later.</summary>
    public const string Overloaded = "overloaded";
    /// <summary>
    /// Not an answer but a notice: the question waits behind <c>QueuePosition</c> others; its answer follows. Carries
    /// an id of its own (<see cref="Answer.NoticeIdFor"/>), so de-duplication by id never drops the answer for it.
    /// </summary>
    public const string Queued = "queued";
}

/// <summary>The reply to a <see cref="Question"/>. Published (QoS 1) on the reply topic.</summary>
[MessagePackObject]
public sealed record Answer : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    /// <summary>Derived from <see cref="QuestionId"/> by the LLM worker (<see cref="IdFor"/>).</summary>
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string QuestionId { get; init; }
    [Key(4)] public required string Question { get; init; }
    /// <summary>The model's answer; empty when generation did not run or failed.</summary>
    [Key(5)] public string Text { get; init; } = "";
    /// <summary>
    /// A deterministic answer computed from the scene facts alone, when the facts answer the question.
    /// </summary>
    [Key(6)] public string? FactsAnswer { get; init; }
    [Key(7)] public IReadOnlyList<CameraFacts> Facts { get; init; } = [];
    [Key(8)] public string? ModelId { get; init; }
    [Key(9)] public int PromptTokens { get; init; }
    [Key(10)] public int CompletionTokens { get; init; }
    [Key(11)] public double TimeToFirstTokenMs { get; init; }
    [Key(12)] public double TotalMs { get; init; }
    /// <summary>One of <see cref="AnswerStatus"/>.</summary>
    [Key(13)] public string Status { get; init; } = AnswerStatus.Ok;
    [Key(14)] public string? Reason { get; init; }
    [Key(15)] public string? Asker { get; init; }
    /// <summary>With status <c>queued</c>: questions waiting ahead of this one (1: it is next).</summary>
    [Key(16)] public int? QueuePosition { get; init; }

    /// <summary>
    /// The answer id for a question: one per question, so a question answered twice (a worker killed after publishing
    /// its answer but before acknowledging the question) yields copies that de-duplication by id removes.
    /// </summary>
    /// <remarks>
    /// Question ids are scoped to their asker (two askers may both use id 1), so the answer id names both.
    /// </remarks>
    public static string IdFor(string? asker, string questionId) =>
        asker is null ? $"answer-{questionId}" : $"answer-{asker}:{questionId}";

    /// <summary>The id of a <c>queued</c> notice for a question, distinct from its answer's.</summary>
    public static string NoticeIdFor(string? asker, string questionId) => IdFor(asker, questionId) + ":queued";
}
