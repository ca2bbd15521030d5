using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Llm.Generation;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Llm.Scene;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Llm.Answering;

/// <summary>
/// Turns a question into its <see cref="Answer"/>: the scene facts it concerns, a deterministic facts answer when the
/// facts alone answer it, and the model's text (the facts answer stands in when generation times out or fails).
/// </summary>
internal sealed class QuestionAnswerer(
    EdgeComponent component, LlmOptions options, SceneIngestion scene, AnswerPublisher publisher, ILogger logger)
{
    public async Task<Answer> AnswerAsync(
        LlamaGenerator generator, PendingQuestion pending, StageScope span, CancellationToken ct)
    {
        var question = pending.Question;
        span.SetTag("question.id", question.Id).SetTag("question.asker", question.Asker);

        var scope = question.Camera ?? FactsAnswerer.CameraMentioned(question.Text, scene.Scene.Cameras);
        var cameras = scene.Scene.Snapshot(scope);
        scene.LinkStates(span, cameras);
        var factsAnswer = FactsAnswerer.Answer(question.Text, cameras, scope);
        var prompt = QuestionPrompt.Build(generator, options, question.Text, cameras, scope, DateTimeOffset.UtcNow);
        span.SetTag("llm.prompt.cuts", prompt.Facts.Cuts);
        if (prompt.Facts.Cuts > 0)
        {
            logger.LogDebug("Question {Id}: scene facts shortened by {Cuts} piece(s) to fit {Tokens} prompt tokens " +
                "in a context of {Context}",
                question.Id, prompt.Facts.Cuts, prompt.Tokens, generator.ContextSize);
        }
        var request = new GenerationRequest(prompt.UserData)
        {
            MaxTokens = options.MaxTokens,
            Timeout = options.QuestionTimeout,
            Partial = options.PartialInterval is not null ? text => publisher.PublishPartial(pending, text) : null,
            PartialInterval = options.PartialInterval ?? TimeSpan.Zero,
        };

        GenerationResult result;
        try
        {
            result = await generator.GenerateAsync(request, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result = new GenerationResult("", AnswerStatus.Error, ex.Message);
        }
        if (result.Status == AnswerStatus.Error)
        {
            component.Errors.Report(ErrorKinds.ModelOutput,
                $"Generation failed for question {question.Id}: {result.Reason}", pending.Message.Topic);
        }
        else if (result.Status == AnswerStatus.Timeout)
        {
            logger.LogWarning("Question {Id} timed out after {Tokens} tokens; sending the facts answer",
                question.Id, result.CompletionTokens);
        }

        var queued = Stopwatch.GetElapsedTime(pending.ReceivedAt) - result.Total;
        LlmTelemetry.Record(result);
        EdgeTelemetry.Generation(
            component.Name, result.PromptTokens, result.CompletionTokens, result.TimeToFirstToken, result.Total);
        span.SetTag("llm.status", result.Status);
        return Status(question.Id, question.Asker, question.Text, result.Status, result.Reason) with
        {
            Text = result.Text,
            FactsAnswer = factsAnswer,
            Facts = cameras.Select(c => c.ToFacts()).ToList(),
            ModelId = generator.ModelId,
            PromptTokens = result.PromptTokens,
            CompletionTokens = result.CompletionTokens,
            // As the asker sees it: from receipt of the question, waiting in the queue included.
            TimeToFirstTokenMs = result.CompletionTokens > 0 ? (queued + result.TimeToFirstToken).TotalMilliseconds : 0,
            TotalMs = Stopwatch.GetElapsedTime(pending.ReceivedAt).TotalMilliseconds,
        };
    }

    /// <summary>An answer that carries only a status and its reason (rejected, expired, overloaded).</summary>
    public static Answer Status(
        string questionId, string? asker, string question, string status, string? reason) => new()
        {
            Id = Answer.IdFor(asker, questionId),
            QuestionId = questionId,
            Question = question,
            Asker = asker,
            Status = status,
            Reason = reason,
        };

    /// <summary>
    /// The notice that a question waits at <paramref name="position"/> in the queue; its answer follows.
    /// </summary>
    public static Answer Queued(Question question, int position) =>
        Status(question.Id, question.Asker, question.Text, AnswerStatus.Queued,
            $"{position - 1} question(s) are waiting ahead of this one.") with
        {
            Id = Answer.NoticeIdFor(question.Asker, question.Id),
            QueuePosition = position,
        };
}
