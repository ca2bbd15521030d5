using System.Diagnostics;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Llm.Generation;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Llm.Scene;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Llm;

/// <summary>
/// Answers questions asked over the broker, grounded on the scene.
/// <list type="bullet">
/// <item>Keeps a <see cref="SceneContext"/> from <c>{prefix}/scene/+</c> (retained states) and <c>{prefix}/events/+</c>.</item>
/// <item>Reads questions from <c>{prefix}/questions/#</c> with manual acknowledgement: a question is acknowledged only
/// after its answer is published, so a worker stopped or killed before that gets it again from its persistent session.</item>
/// <item>Queues them fairly across askers, decodes up to <see cref="LlmOptions.Parallelism"/> together, and publishes
/// an <see cref="Answer"/> (QoS 1) to the reply topic; the asker's latest answer is also retained with an expiry.</item>
/// <item>Every answer carries the facts it was grounded on and, when the facts alone answer the question, a
/// deterministic facts answer, which stands in when generation times out or fails.</item>
/// </list>
/// </summary>
public sealed class LlmWorker(
    [FromKeyedServices(LlmWorker.Component)] EdgeComponent component,
    IOptions<LlmOptions> options,
    ILogger<LlmWorker> logger) : BackgroundService
{
    public const string Component = "llm";

    private readonly LlmOptions _options = options.Value;
    private readonly SceneContext _scene = new(options.Value.RecentEvents);
    private readonly SceneSource _source = SceneSource.For(options.Value, component.Topics);
    private readonly QuestionIntake _intake = new(component.Topics, options.Value.MaxQuestionBytes);
    private readonly FairQueue<PendingQuestion> _queue = new(options.Value.QueueCapacity, options.Value.QueuePerAsker);
    private readonly Lock _idsLock = new();
    private readonly RecentIds _answered = new(options.Value.AnsweredIdsCapacity);
    private readonly Dictionary<string, PendingQuestion> _inFlight = new(StringComparer.Ordinal);
    private readonly Lock _sceneLock = new();
    // Trace context of the latest scene state applied per camera (under _sceneLock): an answer links to those it used.
    private readonly Dictionary<string, ActivityContext> _sceneTraces = new(StringComparer.Ordinal);
    // Cancelled PublishGrace after the worker is asked to stop, so answers already computed can still go out.
    private readonly CancellationTokenSource _publishing = new();
    private IMessageSubscription? _states;
    private IMessageSubscription? _events;
    private LlamaGenerator? _generator;

    /// <summary>Set once the model is loaded and questions are being taken.</summary>
    public Task Ready => _ready.Task;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The loaded generator (null before <see cref="Ready"/>).</summary>
    public LlamaGenerator? Generator => _generator;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var topics = component.Topics;
        var transport = component.Transport;
        await using var stopping = stoppingToken.Register(() => _publishing.CancelAfter(PublishGrace));
        // Subscribe first, before the model loads: the subscriptions must exist when the persistent session delivers
        // questions that waited while the worker was down. They are never unsubscribed (that would end the session's
        // interest); the transport closes them when it is disposed.
        var questions = await transport.SubscribeAsync(new SubscriptionRequest(topics.AllOf(TopicKind.Questions))
        {
            ManualAck = true, Capacity = 64, Overload = OverloadPolicy.Wait,
            // NATS: a JetStream durable consumer holds questions while the worker is away (MQTT: the persistent session).
            Durable = component.Name,
        }, stoppingToken);
        // Scene input at QoS 0: a newer state supersedes a lost one, and unacknowledged questions (QoS 1) must not fill
        // the broker's in-flight window for this client (mosquitto: 20) and stall the scene behind them.
        _states = await transport.SubscribeAsync(new SubscriptionRequest(_source.StatesFilter)
        {
            Delivery = Delivery.AtMostOnce, Overload = OverloadPolicy.DropOldest,
        }, stoppingToken);
        _events = await transport.SubscribeAsync(new SubscriptionRequest(_source.EventsFilter)
        {
            Delivery = Delivery.AtMostOnce, Overload = OverloadPolicy.DropOldest,
        }, stoppingToken);
        var sceneLoops = new[] { ReadSceneAsync(_states, stoppingToken), ReadSceneAsync(_events, stoppingToken) };

        try
        {
            _generator = await LlamaGenerator.LoadAsync(_options, logger, stoppingToken);
        }
        catch (Exception ex)
        {
            if (ex is OperationCanceledException) _ready.TrySetCanceled(stoppingToken);
            else
            {
                component.Errors.Report(ErrorKinds.Internal, $"Cannot load the model {_options.ModelPath}: {ex.Message}");
                _ready.TrySetException(ex);
            }
            throw;
        }
        try
        {
            _ready.TrySetResult();
            var answering = Enumerable.Range(0, _options.Parallelism).Select(_ => AnswerLoopAsync(stoppingToken)).ToList();
            await Task.WhenAll([IntakeLoopAsync(questions, stoppingToken), .. sceneLoops, .. answering]);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Questions not yet answered stay unacknowledged: the broker delivers them again after a restart.
            logger.LogInformation("LLM worker stopping; {Waiting} queued question(s) stay with the broker", _queue.Count);
        }
        finally
        {
            await _generator.DisposeAsync();
        }
    }

    private async Task IntakeLoopAsync(IMessageSubscription questions, CancellationToken ct)
    {
        await foreach (var message in questions.Messages.ReadAllAsync(ct))
        {
            try
            {
                await TakeAsync(message, ct);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // Left unacknowledged: the broker delivers the question again after a reconnect.
                component.Errors.Report(ErrorKinds.Internal, $"Could not take the question: {ex.Message}", message.Topic, message.Payload.Length);
            }
        }
    }

    private async Task TakeAsync(ReceivedMessage message, CancellationToken ct)
    {
        // Apply every scene message that arrived before this question, so its facts include them.
        DrainScene();
        var incoming = _intake.Read(message);
        if (incoming.Rejection is { } reason)
        {
            component.Errors.Report(incoming.RejectionKind ?? ErrorKinds.MalformedPayload, reason, message.Topic, message.Payload.Length);
            await PublishAsync(incoming.Route, Rejected(incoming, reason));
            EdgeTelemetry.AnswerPublished(component.Name, AnswerStatus.Rejected, message.ReceivedAt);
            await AckAsync(message);
            return;
        }
        var pending = new PendingQuestion(incoming.Question!, incoming.Route, message, Stopwatch.GetTimestamp());
        switch (Admit(pending))
        {
            case Admission.Duplicate:
                return;
            case Admission.AlreadyAnswered:
                logger.LogDebug("Question {Id} was answered already; acknowledging the duplicate", incoming.Id);
                await AckAsync(message);
                return;
        }
        bool queued;
        try
        {
            queued = await _queue.EnqueueAsync(incoming.Route.Asker ?? "", pending, ct);
        }
        catch
        {
            Forget(pending);
            throw;
        }
        if (queued) EdgeTelemetry.QuestionAccepted(component.Name);
        else
        {
            var overload = $"Asker '{incoming.Route.Asker ?? "(anonymous)"}' has {_options.QueuePerAsker} question(s) waiting, the most allowed; ask again later.";
            component.Errors.Report(ErrorKinds.Overload, overload, message.Topic, message.Payload.Length);
            await CompleteAsync(pending, Rejected(incoming, overload));
        }
    }

    private enum Admission { New, Duplicate, AlreadyAnswered }

    private Admission Admit(PendingQuestion pending)
    {
        lock (_idsLock)
        {
            if (_answered.Contains(pending.Question.Id)) return Admission.AlreadyAnswered;
            if (_inFlight.TryGetValue(pending.Question.Id, out var first))
            {
                // The same question again while the first is being answered: one answer, both acknowledged after it.
                first.Duplicates.Add(pending.Message);
                return Admission.Duplicate;
            }
            _inFlight[pending.Question.Id] = pending;
            return Admission.New;
        }
    }

    private async Task AnswerLoopAsync(CancellationToken ct)
    {
        while (true)
        {
            var pending = await _queue.DequeueAsync(ct);
            // A child of the question's receive span (so of the asker's trace), current while answering and
            // publishing: the answer's publish continues the trace; links point at the scene states used.
            using var span = EdgeTelemetry.StartProcessing(component.Name, "answer", pending.Message);
            try
            {
                var answer = await AnswerAsync(pending, span, ct);
                await CompleteAsync(pending, answer);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Forget(pending);
                throw;
            }
            catch (Exception ex)
            {
                span.Fail(ex);
                Forget(pending);
                component.Errors.Report(ErrorKinds.Internal, $"Could not answer question {pending.Question.Id}: {ex.Message}", pending.Message.Topic);
            }
        }
    }

    /// <summary>Drops a question that was not answered; unacknowledged, it comes back from the broker.</summary>
    private void Forget(PendingQuestion pending)
    {
        lock (_idsLock) _inFlight.Remove(pending.Question.Id);
    }

    private async Task<Answer> AnswerAsync(PendingQuestion pending, StageScope span, CancellationToken ct)
    {
        var question = pending.Question;
        var generator = _generator ?? throw new InvalidOperationException("The model is not loaded.");
        span.SetTag("question.id", question.Id).SetTag("question.asker", question.Asker);

        var scope = question.Camera ?? FactsAnswerer.CameraMentioned(question.Text, _scene.Cameras);
        var cameras = _scene.Snapshot(scope);
        LinkSceneStates(span, cameras);
        var factsAnswer = FactsAnswerer.Answer(question.Text, cameras, scope);
        var prompt = QuestionPrompt.Build(generator, _options, question.Text, cameras, scope, DateTimeOffset.UtcNow);
        span.SetTag("llm.prompt.cuts", prompt.Facts.Cuts);
        if (prompt.Facts.Cuts > 0)
            logger.LogDebug("Question {Id}: scene facts shortened by {Cuts} piece(s) to fit {Tokens} prompt tokens in a context of {Context}",
                question.Id, prompt.Facts.Cuts, prompt.Tokens, generator.ContextSize);
        var request = new GenerationRequest(prompt.UserData)
        {
            MaxTokens = _options.MaxTokens,
            Timeout = _options.QuestionTimeout,
            Partial = _options.PartialInterval is not null ? text => PublishPartial(pending, text) : null,
            PartialInterval = _options.PartialInterval ?? TimeSpan.Zero,
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
            component.Errors.Report(ErrorKinds.ModelOutput, $"Generation failed for question {question.Id}: {result.Reason}", pending.Message.Topic);
        else if (result.Status == AnswerStatus.Timeout)
            logger.LogWarning("Question {Id} timed out after {Tokens} tokens; sending the facts answer", question.Id, result.CompletionTokens);

        var queued = Stopwatch.GetElapsedTime(pending.ReceivedAt) - result.Total;
        LlmTelemetry.Record(result);
        EdgeTelemetry.Generation(component.Name, result.PromptTokens, result.CompletionTokens, result.TimeToFirstToken, result.Total);
        span.SetTag("llm.status", result.Status);
        return new Answer
        {
            Id = Answer.IdFor(question.Id),
            QuestionId = question.Id,
            Question = question.Text,
            Asker = question.Asker,
            Text = result.Text,
            FactsAnswer = factsAnswer,
            Facts = cameras.Select(c => c.ToFacts()).ToList(),
            ModelId = generator.ModelId,
            PromptTokens = result.PromptTokens,
            CompletionTokens = result.CompletionTokens,
            // As the asker sees it: from receipt of the question, waiting in the queue included.
            TimeToFirstTokenMs = result.CompletionTokens > 0 ? (queued + result.TimeToFirstToken).TotalMilliseconds : 0,
            TotalMs = Stopwatch.GetElapsedTime(pending.ReceivedAt).TotalMilliseconds,
            Status = result.Status,
            Reason = result.Reason,
        };
    }

    /// <summary>Links the answer span to the latest scene state (its receive span) of each camera the answer used.</summary>
    private void LinkSceneStates(StageScope span, IReadOnlyList<CameraSnapshot> cameras)
    {
        if (span.Activity is null) return;
        lock (_sceneLock)
        {
            foreach (var camera in cameras)
                if (_sceneTraces.TryGetValue(camera.Camera, out var context)) span.AddLink(context);
        }
    }

    /// <summary>
    /// Publishes the answer, then acknowledges the question (and any duplicates of it) and remembers its id. While the
    /// link is down the publish waits for the reconnect; a finished answer still goes out while the worker is stopping
    /// (within <see cref="PublishGrace"/>); if it cannot, the question stays unacknowledged and is answered again later.
    /// </summary>
    private async Task CompleteAsync(PendingQuestion pending, Answer answer)
    {
        try
        {
            await PublishAsync(pending.Route, answer);
        }
        catch
        {
            Forget(pending);
            throw;
        }
        EdgeTelemetry.AnswerPublished(component.Name, answer.Status, pending.Question.CreatedAt);
        List<ReceivedMessage> acks;
        lock (_idsLock)
        {
            _inFlight.Remove(pending.Question.Id);
            _answered.Add(pending.Question.Id);
            acks = [pending.Message, .. pending.Duplicates];
        }
        foreach (var message in acks) await AckAsync(message);
        logger.LogInformation("Answered {Id} from {Asker} ({Status}, {Tokens} tokens, {Ms:0} ms) on {Topic}",
            answer.QuestionId, answer.Asker ?? "(anonymous)", answer.Status, answer.CompletionTokens, answer.TotalMs, pending.Route.ReplyTopic);
    }

    private static readonly TimeSpan PublishGrace = TimeSpan.FromSeconds(5);

    private async Task PublishAsync(AnswerRoute route, Answer answer)
    {
        var ct = _publishing.Token;
        var payload = MessageCodec.Serialize(answer, PayloadFormat.Json);
        var retainHere = route.ReplyTopic == route.RetainTopic;
        await component.Transport.PublishAsync(new OutgoingMessage(route.ReplyTopic, payload)
        {
            ContentType = ContentTypes.Json,
            Delivery = Delivery.AtLeastOnce,
            CorrelationData = route.CorrelationData,
            MessageId = answer.Id,
            Retain = retainHere,
            Expiry = retainHere ? _options.AnswerRetention : null,
        }, ct);
        if (retainHere) return;
        // The reply went elsewhere (a response topic): keep the asker's latest answer on its own topic too.
        await component.Transport.PublishAsync(new OutgoingMessage(route.RetainTopic, payload)
        {
            ContentType = ContentTypes.Json, Delivery = Delivery.AtLeastOnce, MessageId = answer.Id, Retain = true, Expiry = _options.AnswerRetention,
        }, ct);
    }

    /// <summary>Partial text, at most once (QoS 0), fire and forget: it runs on the generation loop and must not block it.</summary>
    private void PublishPartial(PendingQuestion pending, string text)
    {
        var message = new OutgoingMessage(pending.Route.ReplyTopic + "/partial", Encoding.UTF8.GetBytes(text))
        {
            ContentType = ContentTypes.Text, Delivery = Delivery.AtMostOnce, CorrelationData = pending.Route.CorrelationData, MessageId = pending.Question.Id,
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

    private async Task AckAsync(ReceivedMessage message)
    {
        try
        {
            await message.AckAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The link dropped since delivery: the broker will deliver the question again and the id check absorbs it.
            logger.LogDebug(ex, "Acknowledgement of a question on {Topic} failed", message.Topic);
        }
    }

    private static Answer Rejected(IncomingQuestion incoming, string reason) => new()
    {
        Id = Answer.IdFor(incoming.Id),
        QuestionId = incoming.Id,
        Question = incoming.Text,
        Asker = incoming.Route.Asker,
        Status = AnswerStatus.Rejected,
        Reason = reason,
    };

    /// <summary>
    /// Applies scene messages as they come. Whoever applies them holds the scene lock while reading, so
    /// <see cref="DrainScene"/> (called before each question) returns only once everything queued so far is applied.
    /// </summary>
    private async Task ReadSceneAsync(IMessageSubscription subscription, CancellationToken ct)
    {
        while (await subscription.Messages.WaitToReadAsync(ct)) DrainScene();
    }

    private void DrainScene()
    {
        lock (_sceneLock)
        {
            while (_states!.Messages.TryRead(out var message)) ApplyState(message);
            while (_events!.Messages.TryRead(out var message)) ApplyEvent(message);
        }
    }

    private void ApplyState(ReceivedMessage message)
    {
        var camera = _source.CameraOf(message.Topic);
        if (camera is null) return;
        if (message.Payload.IsEmpty)
        {
            _scene.ClearState(camera);
            _sceneTraces.Remove(camera);
            return;
        }
        try
        {
            _scene.Apply(MessageCodec.Deserialize<SceneState>(message.Payload, message.ContentType).Validated() with { Camera = camera });
            var context = EdgeTelemetry.ContextOf(message);
            if (context != default) _sceneTraces[camera] = context;
        }
        catch (MessageFormatException ex)
        {
            component.Errors.Report(ErrorKinds.MalformedPayload, ex.Message, message.Topic, message.Payload.Length, camera);
        }
    }

    private void ApplyEvent(ReceivedMessage message)
    {
        var camera = _source.CameraOf(message.Topic);
        if (camera is null) return;
        try
        {
            _scene.Apply(MessageCodec.Deserialize<SceneEvent>(message.Payload, message.ContentType).Validated() with { Camera = camera });
        }
        catch (MessageFormatException ex)
        {
            component.Errors.Report(ErrorKinds.MalformedPayload, ex.Message, message.Topic, message.Payload.Length, camera);
        }
    }

    public override void Dispose()
    {
        // base.Dispose cancels the stopping token, whose callback still uses _publishing.
        base.Dispose();
        _publishing.Dispose();
    }

    private sealed record PendingQuestion(Question Question, AnswerRoute Route, ReceivedMessage Message, long ReceivedAt)
    {
        /// <summary>Redeliveries of the same question id that arrived while it was being answered.</summary>
        public List<ReceivedMessage> Duplicates { get; } = [];
    }
}
