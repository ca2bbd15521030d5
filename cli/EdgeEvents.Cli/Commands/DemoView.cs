using System.Collections.Concurrent;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// The demo's live, readable view: per camera a line a second (fps, objects present, inference time), each scene
/// event and each answer as it arrives, errors, and a summary at the end. It is just another subscriber.
/// </summary>
public sealed class DemoView(TopicScheme topics, TextWriter output)
{
    private readonly ConcurrentDictionary<string, CameraView> _cameras = new();
    private long _detections, _events, _answers, _errors, _questions;

    public long Detections => Interlocked.Read(ref _detections);
    public long Events => Interlocked.Read(ref _events);
    public long Answers => Interlocked.Read(ref _answers);
    public long Errors => Interlocked.Read(ref _errors);
    public long Questions => Interlocked.Read(ref _questions);

    public IEnumerable<SubscriptionRequest> Subscriptions =>
    [
        new(topics.AllOf(TopicKind.Detections)) { Capacity = 1024, Overload = OverloadPolicy.DropOldest },
        new(topics.AllOf(TopicKind.Events)) { Capacity = 1024 },
        new(topics.AllOf(TopicKind.Scene)) { Capacity = 256 },
        new(topics.AllOf(TopicKind.Questions)) { Capacity = 256 },
        new($"{topics.Prefix}/answers/#") { Capacity = 256 },
        new(topics.AllOf(TopicKind.Errors)) { Capacity = 256 },
    ];

    public async Task RunAsync(IMessageTransport transport, CancellationToken ct)
    {
        var subscriptions = new List<IMessageSubscription>();
        foreach (var request in Subscriptions) subscriptions.Add(await transport.SubscribeAsync(request, ct));
        try
        {
            var readers = subscriptions.Select(s => ReadAsync(s, ct)).ToList();
            readers.Add(TickAsync(ct));
            await Task.WhenAll(readers);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            foreach (var s in subscriptions) await s.DisposeAsync();
        }
    }

    private async Task ReadAsync(IMessageSubscription subscription, CancellationToken ct)
    {
        await foreach (var message in subscription.Messages.ReadAllAsync(ct))
        {
            try { Show(message); }
            catch (MessageFormatException ex) { Write($"unreadable message on {message.Topic}: {ex.Message}"); }
        }
    }

    public void Show(ReceivedMessage message)
    {
        var (kind, name) = topics.Parse(message.Topic);
        switch (kind)
        {
            case TopicKind.Detections:
                var detections = MessageCodec.Deserialize<DetectionSet>(message.Payload, message.ContentType);
                Interlocked.Increment(ref _detections);
                _cameras.GetOrAdd(detections.Camera, _ => new CameraView()).Add(detections);
                break;
            case TopicKind.Events:
                var e = MessageCodec.Deserialize<SceneEvent>(message.Payload, message.ContentType);
                Interlocked.Increment(ref _events);
                var what = e.Type == SceneEventTypes.Count
                    ? Counts(e.Counts)
                    : $"{e.Label} {e.TrackId}{(e.Changes.Count > 0 ? $" ({string.Join(", ", e.Changes)})" : "")}";
                Write($"{e.Camera,-8} event {e.Type,-6} {what}");
                break;
            case TopicKind.Scene:
                var scene = MessageCodec.Deserialize<SceneState>(message.Payload, message.ContentType);
                _cameras.GetOrAdd(scene.Camera, _ => new CameraView()).Scene = scene;
                break;
            case TopicKind.Questions:
                Interlocked.Increment(ref _questions);
                var text = MessageCodec.Sniff(message.Payload.Span) == PayloadFormat.Json
                    ? MessageCodec.Deserialize<Question>(message.Payload, message.ContentType).Text
                    : Encoding.UTF8.GetString(message.Payload.Span);
                Write($"question from {name ?? "anonymous"}: {text}");
                break;
            case TopicKind.Answers:
                var answer = MessageCodec.Deserialize<Answer>(message.Payload, message.ContentType);
                Interlocked.Increment(ref _answers);
                Write($"answer to {answer.Asker ?? name ?? "anonymous"} [{answer.Status}]: " +
                    $"{answer.FactsAnswer ?? "(no facts answer)"}");
                if (!string.IsNullOrWhiteSpace(answer.Text))
                    Write($"   model {answer.ModelId}: \"{Shorten(answer.Text, 160)}\"");
                var reason = answer.Reason is null ? "" : $", {answer.Reason}";
                Write($"   {answer.PromptTokens} prompt + {answer.CompletionTokens} completion tokens, " +
                    $"first token {answer.TimeToFirstTokenMs:0} ms, total {answer.TotalMs:0} ms{reason}");
                break;
            case TopicKind.Errors:
                var error = MessageCodec.Deserialize<ErrorEvent>(message.Payload, message.ContentType);
                Interlocked.Increment(ref _errors);
                Write($"error   {error.Component}: {error.Kind}: {error.Message}");
                break;
        }
    }

    private async Task TickAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(ct))
            foreach (var (camera, view) in _cameras.OrderBy(c => c.Key))
                if (view.TakeLine() is { } line) Write($"{camera,-8} {line}");
    }

    public string Summary(TimeSpan elapsed, long framesPublished) =>
        $"demo: {framesPublished} frames published, {Detections} detection sets, {Events} scene events, " +
        $"{Questions} questions, {Answers} answers, {Errors} errors in {elapsed.TotalSeconds:0} s";

    private void Write(string line)
    {
        lock (output) output.WriteLine($"{DateTime.Now:HH:mm:ss} {line}");
    }

    private static string Counts(IReadOnlyDictionary<string, int>? counts) =>
        counts is null || counts.Count == 0
            ? "nothing"
            : string.Join(", ", counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value}"));

    private static string Shorten(string text, int max)
    {
        var single = text.ReplaceLineEndings(" ").Trim();
        return single.Length <= max ? single : single[..max] + "…";
    }

    private sealed class CameraView
    {
        private readonly object _gate = new();
        private int _sets;
        private double _inferenceMs;
        private DetectionSet? _last;
        private DateTime _since = DateTime.UtcNow;

        public SceneState? Scene { get; set; }

        public void Add(DetectionSet set)
        {
            lock (_gate) { _sets++; _inferenceMs += set.Timings.InferenceMs; _last = set; }
        }

        /// <summary>One status line for the last second, or null when nothing arrived.</summary>
        public string? TakeLine()
        {
            lock (_gate)
            {
                if (_sets == 0 || _last is null) return null;
                var seconds = (DateTime.UtcNow - _since).TotalSeconds;
                var seen = _last.Detections.GroupBy(d => d.Label).OrderByDescending(g => g.Count())
                    .Select(g => $"{g.Key} ×{g.Count()} ({g.Max(d => d.Confidence):0.00})");
                var line = $"{_sets / seconds,4:0.0} fps  inference {_inferenceMs / _sets,4:0} ms  " +
                    $"frame {_last.FrameSequence,-5} sees {string.Join(", ", seen).DefaultIfEmptyText("nothing")}"
                    + (Scene is { } s ? $"  | scene: {Counts(s.Counts)}" : "");
                _sets = 0;
                _inferenceMs = 0;
                _since = DateTime.UtcNow;
                return line;
            }
        }
    }
}

internal static class TextExtensions
{
    public static string DefaultIfEmptyText(this string text, string fallback) => text.Length == 0 ? fallback : text;
}
