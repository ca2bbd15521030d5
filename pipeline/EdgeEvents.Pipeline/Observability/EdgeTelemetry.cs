using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// The meter and activity sources of EdgeEvents. Every instrument is created here, once, so names, units and tags stay
/// consistent; workers record through the helper methods (one line each) rather than creating instruments.
/// Prometheus names: dots become underscores, counters get <c>_total</c>, units in ms get <c>_milliseconds</c>
/// (<c>edge.stage.duration</c> → <c>edge_stage_duration_milliseconds_bucket</c>).
/// </summary>
public static class EdgeTelemetry
{
    public const string Name = "EdgeEvents";

    /// <summary>Tag names used on EdgeEvents instruments.</summary>
    public static class Tags
    {
        public const string Component = "component";
        public const string Camera = "camera";
        public const string Reason = "reason";
        public const string Stage = "stage";
        public const string Kind = "kind";
        public const string Status = "status";
        public const string Label = "label";
        public const string Type = "type";
        public const string Site = "site";
        /// <summary>
        /// Topic class (<c>frames</c>, <c>detections</c>, …), never the full topic: bounded cardinality.
        /// </summary>
        public const string Topic = "topic";
        public const string Queue = "queue";
        public const string MessagingSystem = "messaging.system";
    }

    public static readonly Meter Meter = new(Name, "1.0");

    /// <summary>
    /// Label sets kept per metric by the service defaults' meter provider; more go to one overflow series.
    /// </summary>
    public const int MaxSeriesPerMetric = 256;

    // Millisecond buckets from sub-millisecond stages (letterbox) to LLM answers (tens of seconds).
    private static readonly InstrumentAdvice<double> MillisecondBuckets = new()
    {
        HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000],
    };

    // ---- Counters ----

    public static readonly Counter<long> FramesReceived = Meter.CreateCounter<long>(
        "edge.frames.received", unit: "{frame}",
        description: "Frames handed to a subscriber, by component and camera. Counted by the transport decorator.");

    public static readonly Counter<long> FramesProcessed = Meter.CreateCounter<long>(
        "edge.frames.processed", unit: "{frame}",
        description: "Frames run through the model, by component and camera.");

    public static readonly Counter<long> FramesDropped = Meter.CreateCounter<long>(
        "edge.frames.dropped", unit: "{frame}",
        description: "Frames received but not processed, by component, camera and reason " +
            "(superseded, stale, too_many_cameras, …).");

    public static readonly Counter<long> Detections = Meter.CreateCounter<long>(
        "edge.detections", unit: "{detection}", description: "Objects detected, by component, camera and label.");

    public static readonly Counter<long> Events = Meter.CreateCounter<long>(
        "edge.events", unit: "{event}",
        description: "Scene events published, by component, camera and type (new, update, end, count).");

    public static readonly Counter<long> Questions = Meter.CreateCounter<long>(
        "edge.questions", unit: "{question}", description: "Questions accepted, by component.");

    public static readonly Counter<long> Answers = Meter.CreateCounter<long>(
        "edge.answers", unit: "{answer}",
        description: "Answers published, by component and status (ok, timeout, error, rejected).");

    public static readonly Counter<long> LlmTokens = Meter.CreateCounter<long>(
        "edge.llm.tokens", unit: "{token}", description: "Prompt and completion tokens, by kind.");

    public static readonly Counter<long> Errors = Meter.CreateCounter<long>(
        "edge.errors", unit: "{error}", description: "Rejected inputs and failed operations, by component and kind.");

    public static readonly Counter<long> MessagesPublished = Meter.CreateCounter<long>(
        "edge.messages.published", unit: "{message}",
        description: "Messages published, by component and topic class. Counted by the transport decorator.");

    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>(
        "edge.messages.received", unit: "{message}",
        description: "Messages handed to a subscriber, by component and topic class. " +
            "Counted by the transport decorator.");

    public static readonly Counter<long> MessagesDropped = Meter.CreateCounter<long>(
        "edge.messages.dropped", unit: "{message}",
        description: "Messages dropped by a subscription's overload policy or while disconnected, " +
            "by topic class and reason.");

    /// <summary>
    /// Counts one message a transport dropped itself (while disconnected, expired), tagged like every drop.
    /// </summary>
    public static void TransportDropped(string messagingSystem, string reason) =>
        MessagesDropped.Add(1,
            new KeyValuePair<string, object?>("messaging.system", messagingSystem),
            new KeyValuePair<string, object?>("reason", reason));

    public static readonly Counter<long> BrokerDisconnects = Meter.CreateCounter<long>(
        "edge.broker.disconnects", unit: "{disconnect}",
        description: "Times a component lost its broker connection, by component and messaging.system.");

    // ---- Histograms ----

    public static readonly Histogram<double> StageDuration = Meter.CreateHistogram(
        "edge.stage.duration", unit: "ms",
        description: "Time spent in one processing stage, by component and stage " +
            "(detect, decode, letterbox, inference, postprocess, track, prompt, generate, reply, …).",
        tags: null, advice: MillisecondBuckets);

    public static readonly Histogram<double> CaptureToDetection = Meter.CreateHistogram(
        "edge.latency.capture_to_detection", unit: "ms",
        description: "From a frame's capture time to its detections being published, by component and camera.",
        tags: null, advice: MillisecondBuckets);

    public static readonly Histogram<double> QuestionToAnswer = Meter.CreateHistogram(
        "edge.latency.question_to_answer", unit: "ms",
        description: "From a question's creation time to its answer being published, by component and status.",
        tags: null, advice: MillisecondBuckets);

    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram(
        "edge.llm.time_to_first_token", unit: "ms",
        description: "From handing a question to the generator to its first token.",
        tags: null, advice: MillisecondBuckets);

    public static readonly Histogram<double> TokensPerSecond = Meter.CreateHistogram(
        "edge.llm.tokens_per_second", unit: "{token}/s",
        description: "Completion tokens per second of one generation, by component.",
        tags: null, advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
        });

    // ---- Observable gauges (sources register with the Observe… helpers) ----

    public static readonly GaugeRegistry QueueDepth = new(Meter,
        "edge.queue.depth", "{message}",
        "Messages waiting in a bounded queue, by component and queue " +
        "(a subscription's filter or a worker's own queue).");

    public static readonly GaugeRegistry OutboxSize = new(Meter,
        "edge.outbox.size", "{message}", "Messages stored in the outbox waiting for the broker, by component.");

    public static readonly GaugeRegistry FleetSiteUp = new(Meter,
        "edge.fleet.site.up", "{site}",
        "At the hub: 1 while the fleet component sees a site online or degraded, 0 while it is offline; by site.");

    public static readonly GaugeRegistry BrokerConnected = new(Meter,
        "edge.broker.connected", "{connection}",
        "1 while the component is connected to its broker, else 0; by component and messaging.system.");

    // ---- Tracing ----

    /// <summary>
    /// The activity source of one component (<c>EdgeEvents.detector</c>, …). Service defaults listen to
    /// <c>EdgeEvents.*</c>.
    /// </summary>
    public static ActivitySource Source(string component) =>
        Sources.GetOrAdd(component, static c => new ActivitySource($"{Name}.{c}", "1.0"));

    private static readonly ConcurrentDictionary<string, ActivitySource> Sources = new();

    /// <summary>
    /// Starts the span in which a worker handles <paramref name="message"/>: a child of the message's receive span (so
    /// of the producer's trace), current for the rest of the scope, so whatever the worker publishes inside it
    /// continues the trace. On dispose records <c>edge.stage.duration{stage}</c>.
    /// <code>using var span = EdgeTelemetry.StartProcessing(component.Name, "detect", message);</code>
    /// </summary>
    public static StageScope StartProcessing(string component, string stage, ReceivedMessage message) =>
        StageScope.Start(component, stage, TraceContext.Extract(message.Headers), message);

    /// <summary>
    /// The same for work handed on through a queue or batch, where the message is no longer at hand: keep
    /// <see cref="ContextOf"/> (or an earlier <see cref="StageScope.Context"/>) with the work item and pass it here.
    /// <code>using var span = EdgeTelemetry.StartProcessing(component.Name, "detect", frame.Trace);</code>
    /// </summary>
    public static StageScope StartProcessing(string component, string stage, ActivityContext parent) =>
        StageScope.Start(component, stage, parent, null);

    /// <summary>
    /// Starts a stage inside the current span (decode, letterbox, inference, …): a child span plus
    /// <c>edge.stage.duration{stage}</c> on dispose. With no current span it starts a new trace (the camera's capture).
    /// <code>using (EdgeTelemetry.StartStage(component.Name, "inference")) { … }</code>
    /// </summary>
    public static StageScope StartStage(string component, string stage) =>
        StageScope.Start(component, stage, default, null);

    /// <summary>
    /// The trace context a received message carries, to link an answer to the scene updates it used
    /// (<see cref="StageScope.AddLink"/>).
    /// </summary>
    public static ActivityContext ContextOf(ReceivedMessage message) => TraceContext.Extract(message.Headers);

    /// <summary>Records a stage measured elsewhere (e.g. the detector's <c>StageTimings</c>).</summary>
    public static void RecordStage(string component, string stage, double milliseconds) =>
        StageDuration.Record(milliseconds, new TagList { { Tags.Component, component }, { Tags.Stage, stage } });

    // ---- One-line recorders for workers ----

    // Camera ids below become labels through CameraLabels: bounded per component.

    public static void FrameProcessed(string component, string camera) =>
        FramesProcessed.Add(1,
            new TagList { { Tags.Component, component }, { Tags.Camera, CameraLabels.Of(component, camera) } });

    public static void FrameDropped(string component, string camera, string reason) =>
        FramesDropped.Add(1, new TagList
        {
            { Tags.Component, component }, { Tags.Camera, CameraLabels.Of(component, camera) }, { Tags.Reason, reason },
        });

    /// <summary>Counts one detection per label and records capture→detection latency.</summary>
    public static void DetectionsPublished(string component, string camera, IEnumerable<string> labels,
        DateTimeOffset capturedAt)
    {
        camera = CameraLabels.Of(component, camera);
        foreach (var label in labels)
            Detections.Add(1,
                new TagList { { Tags.Component, component }, { Tags.Camera, camera }, { Tags.Label, label } });
        CaptureToDetection.Record(MillisecondsSince(capturedAt),
            new TagList { { Tags.Component, component }, { Tags.Camera, camera } });
    }

    public static void EventPublished(string component, string camera, string type) =>
        Events.Add(1, new TagList
        {
            { Tags.Component, component }, { Tags.Camera, CameraLabels.Of(component, camera) }, { Tags.Type, type },
        });

    public static void QuestionAccepted(string component) =>
        Questions.Add(1, new TagList { { Tags.Component, component } });

    /// <summary>Counts an answer and records question→answer latency from the question's creation time.</summary>
    public static void AnswerPublished(string component, string status, DateTimeOffset askedAt)
    {
        var tags = new TagList { { Tags.Component, component }, { Tags.Status, status } };
        Answers.Add(1, tags);
        QuestionToAnswer.Record(MillisecondsSince(askedAt), tags);
    }

    /// <summary>Records one generation: token counters, tokens/s and time to first token.</summary>
    public static void Generation(string component, int promptTokens, int completionTokens, TimeSpan timeToFirstToken,
        TimeSpan total)
    {
        LlmTokens.Add(promptTokens, new TagList { { Tags.Component, component }, { Tags.Kind, "prompt" } });
        LlmTokens.Add(completionTokens, new TagList { { Tags.Component, component }, { Tags.Kind, "completion" } });
        if (completionTokens <= 0) return;
        var tags = new TagList { { Tags.Component, component } };
        TimeToFirstToken.Record(timeToFirstToken.TotalMilliseconds, tags);
        if (total > TimeSpan.Zero) TokensPerSecond.Record(completionTokens / total.TotalSeconds, tags);
    }

    /// <summary>
    /// Reports the length of a worker's own queue as <c>edge.queue.depth</c>; dispose the result when the
    /// queue goes away.
    /// </summary>
    public static IDisposable ObserveQueueDepth(string component, string queue, Func<long> depth) =>
        QueueDepth.Observe(depth, new TagList { { Tags.Component, component }, { Tags.Queue, queue } });

    /// <summary>
    /// Reports the outbox's stored message count as <c>edge.outbox.size</c>; dispose the result with the outbox.
    /// </summary>
    public static IDisposable ObserveOutboxSize(string component, Func<long> size) =>
        OutboxSize.Observe(size, new TagList { { Tags.Component, component } });

    private static double MillisecondsSince(DateTimeOffset at) =>
        Math.Max(0, (DateTimeOffset.UtcNow - at).TotalMilliseconds);
}
