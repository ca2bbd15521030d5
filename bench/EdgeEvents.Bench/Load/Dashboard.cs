using System.Collections.Concurrent;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Bench.Load;

/// <summary>
/// The consumer side of the load run, as a dashboard would be: subscribes to detections, scene events, answers and
/// the components' stats, and measures capture→detection, capture→scene-event and question→answer latency while a
/// measurement window is open. Also asks the questions.
/// </summary>
public sealed class Dashboard : IAsyncDisposable
{
    public const string Asker = "loadbench";

    private readonly IMessageTransport _transport;
    private readonly TopicScheme _topics = new();
    private readonly List<IMessageSubscription> _subscriptions = [];
    private readonly List<Task> _readers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly LatencySamples _detections = new();
    private readonly LatencySamples _events = new();
    private readonly LatencySamples _answers = new();
    // Answers whose status is not ok (timeout, error, rejected): counted in the answers too, and shown apart.
    private readonly LatencySamples _answersNotOk = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _asked = new();
    // Latest stats message of each process: several detectors share a component name, so the key adds its start time.
    private readonly ConcurrentDictionary<(string Component, DateTimeOffset StartedAt), IReadOnlyDictionary<string,
        double>> _stats = new();

    private Dashboard(IMessageTransport transport) => _transport = transport;

    public static async Task<Dashboard> StartAsync(string brokerUrl)
    {
        var dashboard = new Dashboard(await TestTransports.ConnectAsync(brokerUrl, component: "dashboard"));
        await dashboard.SubscribeAsync<DetectionSet>(TopicKind.Detections,
            d => dashboard._detections.Add(d.CapturedAt));
        await dashboard.SubscribeAsync<SceneEvent>(TopicKind.Events, e => dashboard._events.Add(e.Frame.CapturedAt));
        await dashboard.SubscribeAsync<StatusMessage>(TopicKind.Stats,
            s => dashboard._stats[(s.Component, s.StartedAt)] = s.Values);
        await dashboard.SubscribeAsync<Answer>(dashboard._topics.Answers(Asker), a =>
        {
            if (!dashboard._asked.TryRemove(a.QuestionId, out var askedAt)) return;
            dashboard._answers.Add(askedAt);
            if (a.Status != AnswerStatus.Ok) dashboard._answersNotOk.Add(askedAt);
        });
        return dashboard;
    }

    private Task SubscribeAsync<T>(TopicKind kind, Action<T> onMessage) where T
        : class => SubscribeAsync(_topics.AllOf(kind), onMessage);

    private async Task SubscribeAsync<T>(string filter, Action<T> onMessage) where T : class
    {
        var subscription = await _transport.SubscribeAsync(new SubscriptionRequest(filter) { Capacity = 8192 },
            _stop.Token);
        _subscriptions.Add(subscription);
        _readers.Add(Task.Run(async () =>
        {
            try
            {
                await foreach (var message in subscription.Messages.ReadAllAsync(_stop.Token))
                    onMessage(MessageCodec.Deserialize<T>(message.Payload, message.ContentType));
            }
            catch (OperationCanceledException) { }
        }));
    }

    /// <summary>Publishes one question; its answer's latency counts in the window open when the answer
    /// arrives.</summary>
    public async Task AskAsync(CancellationToken ct)
    {
        // Scoped to one camera, as a dashboard asks.
        var question = new Question { Text = "How many people are on cam1?", Camera = "cam1", Asker = Asker };
        _asked[question.Id] = DateTimeOffset.UtcNow;
        await _transport.PublishAsync(new OutgoingMessage(_topics.Questions(Asker),
            MessageCodec.Serialize(question, PayloadFormat.Json))
        {
            ContentType = ContentTypes.Json, MessageId = question.Id,
        }, ct);
    }

    /// <summary>Waits until a question is answered (the LLM worker is up), asking again every few seconds.</summary>
    public async Task WaitForAnswerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        _answers.Start();
        try
        {
            while (_answers.Count == 0)
            {
                await AskAsync(cts.Token);
                for (var i = 0; i < 30 && _answers.Count == 0; i++) await Task.Delay(100, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"No answer from the LLM worker within {timeout.TotalSeconds:0} s.");
        }
        _answers.Stop();
        _asked.Clear();
    }

    /// <summary>Latest stats of each process of <paramref name="component"/>.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Stats(string component) =>
        _stats.Where(s => s.Key.Component == component).Select(s => s.Value).ToList();

    /// <summary>Opens a measurement window: latency samples from now on count.</summary>
    public void StartWindow()
    {
        _detections.Start();
        _events.Start();
        _answers.Start();
        _answersNotOk.Start();
    }

    /// <summary>Closes the window and returns its samples.</summary>
    public WindowSamples StopWindow() => new(_detections.Stop(), _events.Stop(), _answers.Stop(),
        _answersNotOk.Stop().Length);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_readers);
        foreach (var subscription in _subscriptions) await subscription.DisposeAsync();
        await _transport.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>Latencies (ms, sorted) of one measurement window.</summary>
public sealed record WindowSamples(double[] Detection, double[] SceneEvent, double[] Answer, int AnswersNotOk);

/// <summary>Milliseconds from a timestamp to now, collected only while a window is open.</summary>
public sealed class LatencySamples
{
    private readonly Lock _lock = new();
    private List<double>? _samples;

    public int Count { get { lock (_lock) return _samples?.Count ?? 0; } }

    public void Start() { lock (_lock) _samples = []; }

    public void Add(DateTimeOffset since)
    {
        var ms = (DateTimeOffset.UtcNow - since).TotalMilliseconds;
        lock (_lock) _samples?.Add(ms);
    }

    /// <summary>Closes the window; the samples sorted ascending.</summary>
    public double[] Stop()
    {
        lock (_lock)
        {
            var sorted = (_samples ?? []).Order().ToArray();
            _samples = null;
            return sorted;
        }
    }

    /// <summary>Nearest-rank percentile of sorted samples; NaN when there are none.</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0,
            sorted.Length - 1)];
}
