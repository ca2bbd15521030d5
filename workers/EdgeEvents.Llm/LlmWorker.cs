using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Llm.Answering;
using EdgeEvents.Llm.Generation;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Llm.Scene;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Llm;

/// <summary>
/// Answers questions asked over the broker, grounded on the scene.
/// <list type="bullet">
/// <item>Keeps the scene from <c>{prefix}/scene/+</c> and <c>{prefix}/events/+</c>
/// (<see cref="SceneIngestion"/>).</item>
/// <item>Reads questions from <c>{prefix}/questions/#</c> with manual acknowledgement: a question is acknowledged only
/// after its answer is published, so a worker stopped or killed before that gets it again from its persistent session;
/// the <see cref="QuestionLedger"/> answers a question seen again with the answer it already got.</item>
/// <item>Queues them fairly across askers (a full queue answers <c>overloaded</c>, a long wait is announced with a
/// <c>queued</c> notice), decodes up to <see cref="LlmOptions.Parallelism"/> together, and publishes an
/// <see cref="Answer"/> (<see cref="AnswerPublisher"/>); questions older than <see cref="LlmOptions.QuestionMaxAge"/>
/// are answered <c>expired</c> without generating.</item>
/// </list>
/// </summary>
public sealed class LlmWorker : BackgroundService
{
    /// <summary>
    /// Component name: the key of its <see cref="EdgeComponent"/>, its client id, status and error topics.
    /// </summary>
    public const string Component = "llm";

    private static readonly TimeSpan PublishGrace = TimeSpan.FromSeconds(5);

    private readonly EdgeComponent _component;
    private readonly LlmOptions _options;
    private readonly ILogger<LlmWorker> _logger;
    private readonly QuestionLedger _ledger;
    private readonly SceneIngestion _scene;
    private readonly QuestionIntake _intake;
    private readonly FairQueue<PendingQuestion> _queue;
    private readonly AnswerPublisher _publisher;
    private readonly QuestionAnswerer _answerer;
    // Cancelled PublishGrace after the worker is asked to stop, so answers already computed can still go out.
    private readonly CancellationTokenSource _publishing = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LlamaGenerator? _generator;

    /// <param name="ledgerPath">
    /// SQLite file of the question ledger (beside the outbox); null keeps it in memory.
    /// </param>
    public LlmWorker(
        EdgeComponent component, IOptions<LlmOptions> options, string? ledgerPath, ILogger<LlmWorker> logger)
    {
        _component = component;
        _options = options.Value;
        _logger = logger;
        _ledger = ledgerPath is null
            ? QuestionLedger.InMemory(_options.AnsweredIdsCapacity)
            : QuestionLedger.Open(ledgerPath, _options.AnsweredIdsCapacity);
        _scene = new SceneIngestion(component, SceneSource.For(_options, component.Topics), _options.RecentEvents);
        _intake = new QuestionIntake(component.Topics, _options.MaxQuestionBytes, _options.ReplyTopics);
        _queue = new FairQueue<PendingQuestion>(_options.QueueCapacity, _options.QueuePerAsker);
        _publisher = new AnswerPublisher(component, _options, logger, _publishing.Token);
        _answerer = new QuestionAnswerer(component, _options, _scene, _publisher, logger);
    }

    /// <summary>Set once the model is loaded and questions are being taken.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The loaded generator (null before <see cref="Ready"/>).</summary>
    public LlamaGenerator? Generator => _generator;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var transport = _component.Transport;
        await using var stopping = stoppingToken.Register(() => _publishing.CancelAfter(PublishGrace));
        // Subscribe first, before the model loads: the subscriptions must exist when the persistent session delivers
        // questions that waited while the worker was down. They are never unsubscribed (that would end the session's
        // interest); the transport closes them when it is disposed.
        var questionFilter = _component.Topics.AllOf(TopicKind.Questions);
        var questions = await transport.SubscribeAsync(new SubscriptionRequest(questionFilter)
        {
            ManualAck = true, Capacity = 64, Overload = OverloadPolicy.Wait,
            // NATS: a JetStream durable consumer holds questions while the worker is away (MQTT: the persistent
            // session).
            Durable = _component.Name,
            // The ledger handles copies, per asker: the transport's window is keyed by message id alone, which one
            // asker could use to silence another's question.
            Deduplicate = false,
        }, stoppingToken);
        await _scene.SubscribeAsync(stoppingToken);
        var sceneLoops = _scene.ReadAsync(stoppingToken);

        try
        {
            _generator = await LlamaGenerator.LoadAsync(_options, _logger, stoppingToken);
        }
        catch (Exception ex)
        {
            if (ex is OperationCanceledException) _ready.TrySetCanceled(stoppingToken);
            else
            {
                _component.Errors.Report(
                    ErrorKinds.Internal, $"Cannot load the model {_options.ModelPath}: {ex.Message}");
                _ready.TrySetException(ex);
            }
            throw;
        }
        try
        {
            _ready.TrySetResult();
            var answering = Enumerable.Range(0, _options.Parallelism)
                .Select(_ => AnswerLoopAsync(stoppingToken))
                .ToList();
            await Task.WhenAll([IntakeLoopAsync(questions, stoppingToken), .. sceneLoops, .. answering]);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Questions not yet answered stay unacknowledged: the broker delivers them again after a restart.
            _logger.LogInformation(
                "LLM worker stopping; {Waiting} queued question(s) stay with the broker", _queue.Count);
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
                await TakeAsync(message);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // Left unacknowledged: the broker delivers the question again after a reconnect.
                _component.Errors.Report(ErrorKinds.Internal, $"Could not take the question: {ex.Message}",
                    message.Topic, message.Payload.Length);
            }
        }
    }

    private async Task TakeAsync(ReceivedMessage message)
    {
        // Apply every scene message that arrived before this question, so its facts include them.
        _scene.Drain();
        var incoming = _intake.Read(message);
        if (incoming.Rejection is { } reason)
        {
            _component.Errors.Report(incoming.RejectionKind ?? ErrorKinds.MalformedPayload, reason,
                message.Topic, message.Payload.Length);
            var rejected = QuestionAnswerer.Status(
                incoming.Id, incoming.Route.Asker, incoming.Text, AnswerStatus.Rejected, reason);
            await _publisher.PublishAsync(incoming.Route, rejected);
            EdgeTelemetry.AnswerPublished(_component.Name, AnswerStatus.Rejected, message.ReceivedAt);
            await _publisher.AckAsync(message);
            return;
        }
        var pending = new PendingQuestion(incoming.Question!, incoming.Route, message, Stopwatch.GetTimestamp());
        switch (_ledger.Admit(pending, out var earlier))
        {
            case Admission.InFlight:
                _logger.LogInformation(
                    "Question {Id} from {Asker} seen again while being answered; one answer acknowledges both",
                    incoming.Id, incoming.Route.Asker ?? "(anonymous)");
                return;
            case Admission.Answered:
                // The same answer again, not retained (a newer one may be): consumers remove the copy by its id.
                _logger.LogInformation("Question {Id} from {Asker} seen again; sending its answer again",
                    incoming.Id, incoming.Route.Asker ?? "(anonymous)");
                await _publisher.PublishAsync(pending.Route, earlier!, retain: false);
                await _publisher.AckAsync(message);
                return;
        }
        var asker = incoming.Route.Asker ?? "";
        switch (_queue.Enqueue(asker, pending, out var position))
        {
            case Enqueued.Accepted:
                EdgeTelemetry.QuestionAccepted(_component.Name);
                // Every slot busy and others ahead: say so rather than leave the asker guessing.
                if (position > _options.Parallelism)
                {
                    await _publisher.PublishAsync(
                        pending.Route, QuestionAnswerer.Queued(pending.Question, position), retain: false);
                }
                break;
            case Enqueued.KeyFull:
                await RefuseAsync(pending, AnswerStatus.Rejected,
                    $"Asker '{incoming.Route.Asker ?? "(anonymous)"}' has {_options.QueuePerAsker} question(s) " +
                    "waiting, the most allowed; ask again later.");
                break;
            case Enqueued.QueueFull:
                await RefuseAsync(pending, AnswerStatus.Overloaded,
                    $"{_options.QueueCapacity} questions are waiting, the most allowed; ask again later.");
                break;
        }
    }

    /// <summary>
    /// Answers a question the queue did not take; not remembered, so asking again later is answered properly.
    /// </summary>
    private async Task RefuseAsync(PendingQuestion pending, string status, string reason)
    {
        _ledger.Forget(pending);
        _component.Errors.Report(ErrorKinds.Overload, reason, pending.Message.Topic, pending.Message.Payload.Length);
        var question = pending.Question;
        var refusal = QuestionAnswerer.Status(question.Id, question.Asker, question.Text, status, reason);
        await _publisher.PublishAsync(pending.Route, refusal, retain: false);
        EdgeTelemetry.AnswerPublished(_component.Name, status, pending.AskedAt);
        foreach (var message in (List<ReceivedMessage>)[pending.Message, .. pending.Duplicates])
            await _publisher.AckAsync(message);
    }

    private async Task AnswerLoopAsync(CancellationToken ct)
    {
        while (true)
        {
            var pending = await _queue.DequeueAsync(ct);
            // A child of the question's receive span (so of the asker's trace), current while answering and
            // publishing: the answer's publish continues the trace; links point at the scene states used.
            using var span = EdgeTelemetry.StartProcessing(_component.Name, "answer", pending.Message);
            try
            {
                var answer = DateTimeOffset.UtcNow - pending.AskedAt > _options.QuestionMaxAge
                    ? Expired(pending)
                    : await _answerer.AnswerAsync(_generator!, pending, span, ct);
                await CompleteAsync(pending, answer);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _ledger.Forget(pending);
                throw;
            }
            catch (Exception ex)
            {
                span.Fail(ex);
                _ledger.Forget(pending);
                _component.Errors.Report(ErrorKinds.Internal,
                    $"Could not answer question {pending.Question.Id}: {ex.Message}", pending.Message.Topic);
            }
        }
    }

    private Answer Expired(PendingQuestion pending)
    {
        var question = pending.Question;
        var age = DateTimeOffset.UtcNow - pending.AskedAt;
        _logger.LogInformation(
            "Question {Id} from {Asker} is {Age:0} s old, over {Max:0} s; answering expired without generating",
            question.Id, question.Asker ?? "(anonymous)", age.TotalSeconds, _options.QuestionMaxAge.TotalSeconds);
        return QuestionAnswerer.Status(question.Id, question.Asker, question.Text, AnswerStatus.Expired,
            $"The question waited {age.TotalSeconds:0} s, " +
            $"longer than the {_options.QuestionMaxAge.TotalSeconds:0} s allowed; ask again if it still matters.");
    }

    /// <summary>
    /// Records the answer in the ledger, publishes it, then acknowledges the question (and any copies of it). While
    /// the link is down the publish waits for the reconnect; a finished answer still goes out while the worker is
    /// stopping (within <see cref="PublishGrace"/>); if it cannot, the question stays unacknowledged and comes back,
    /// to be answered from the ledger with this same answer.
    /// </summary>
    private async Task CompleteAsync(PendingQuestion pending, Answer answer)
    {
        var acks = _ledger.Answer(pending, answer);
        await _publisher.PublishAsync(pending.Route, answer);
        EdgeTelemetry.AnswerPublished(_component.Name, answer.Status, pending.AskedAt);
        foreach (var message in acks) await _publisher.AckAsync(message);
        _logger.LogInformation("Answered {Id} from {Asker} ({Status}, {Tokens} tokens, {Ms:0} ms) on {Topic}",
            answer.QuestionId, answer.Asker ?? "(anonymous)", answer.Status, answer.CompletionTokens, answer.TotalMs,
            pending.Route.ReplyTopic);
    }

    public override void Dispose()
    {
        // base.Dispose cancels the stopping token, whose callback still uses _publishing.
        base.Dispose();
        _publishing.Dispose();
        _ledger.Dispose();
    }
}
