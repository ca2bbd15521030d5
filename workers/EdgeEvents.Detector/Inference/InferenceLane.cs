using System.Diagnostics;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Intake;
using EdgeEvents.Detector.Postprocessing;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector.Inference;

/// <summary>
/// One model session and its two-stage pipeline. The prepare stage takes the newest frames from the mailbox (up to the
/// model's batch size, waiting at most <c>BatchDeadline</c> for more after the first), drops stale ones, and decodes
/// and letterboxes them into a reused input buffer; the inference stage (its own thread, since a run blocks) runs the
/// model, decodes boxes, applies NMS and hands <see cref="DetectionSet"/>s on. <c>BatchesInFlight</c> buffers circulate
/// between the stages, so the next batch is decoded while the current one runs and nothing else is allocated per frame
/// but the results. <see cref="SwitchTo"/> replaces the model between two batches: each batch is prepared and run by
/// the engine current when its first frame was taken, so no frame is lost or run twice across the switch.
/// </summary>
internal sealed class InferenceLane
{
    private readonly object _switchLock = new();
    private ModelEngine _engine;
    private readonly DetectorOptions _options;
    private readonly FrameMailbox _mailbox;
    private readonly DetectorStats _stats;
    private readonly ErrorReporter _errors;
    private readonly ChannelWriter<DetectionResult> _output;
    private readonly string _component;
    private readonly ILogger _logger;
    private readonly Channel<Batch> _free;
    private readonly Channel<Batch> _ready;
    private readonly Func<string, bool>? _snapshotDue;

    /// <param name="snapshotDue">Whether a camera's next frame will be drawn as a snapshot; such frames carry a copy of
    /// their decoded pixels on to the snapshot stage.</param>
    public InferenceLane(ModelEngine engine, DetectorOptions options, FrameMailbox mailbox, DetectorStats stats,
        ErrorReporter errors, ChannelWriter<DetectionResult> output, ILogger logger, string component = "detector",
        Func<string, bool>? snapshotDue = null)
    {
        _snapshotDue = snapshotDue;
        _component = component;
        _engine = engine;
        _options = options;
        _mailbox = mailbox;
        _stats = stats;
        _errors = errors;
        _output = output;
        _logger = logger;
        _free = Channel.CreateBounded<Batch>(options.BatchesInFlight);
        _ready = Channel.CreateBounded<Batch>(options.BatchesInFlight);
        for (var i = 0; i < options.BatchesInFlight; i++) _free.Writer.TryWrite(new Batch(engine));
    }

    /// <summary>The engine new batches are prepared for.</summary>
    public ModelEngine Engine
    {
        get { lock (_switchLock) return _engine; }
    }

    /// <summary>
    /// Makes <paramref name="next"/> run every batch started from now on and returns the engine it replaces; batches
    /// already prepared still run on that one (dispose it with <see cref="ModelEngine.DisposeWhenIdleAsync"/>).
    /// </summary>
    public ModelEngine SwitchTo(ModelEngine next)
    {
        lock (_switchLock)
        {
            var previous = _engine;
            _engine = next;
            return previous;
        }
    }

    /// <summary>Runs both stages until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct)
    {
        var prepare = Task.Run(() => PrepareLoopAsync(ct), CancellationToken.None);
        var infer = Task.Factory.StartNew(() => InferLoop(ct), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return Task.WhenAll(prepare, infer);
    }

    private async Task PrepareLoopAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var batch = await _free.Reader.ReadAsync(ct);
                do
                {
                    var first = await _mailbox.TakeAsync(ct);
                    batch = ForCurrentEngine(batch);
                    Add(batch, first);
                    if (batch.Count == 0) batch.Engine.ExitBatch();
                } while (batch.Count == 0);
                if (batch.Capacity > 1) await FillBatchAsync(batch, ct);
                await _ready.Writer.WriteAsync(batch, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _ready.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Enters the current engine for a new batch, replacing the buffer when it was made for another engine.
    /// </summary>
    private Batch ForCurrentEngine(Batch batch)
    {
        ModelEngine engine;
        lock (_switchLock)
        {
            engine = _engine;
            engine.EnterBatch();
        }
        if (batch.Engine != engine) batch = new Batch(engine);
        batch.Count = 0;
        return batch;
    }

    /// <summary>
    /// Adds frames until the batch is full or the deadline passes (nvstreammux's batched-push-timeout).
    /// </summary>
    private async Task FillBatchAsync(Batch batch, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.BatchDeadline);
        while (batch.Count < batch.Capacity)
        {
            if (_mailbox.TryTake(out var waiting))
            {
                Add(batch, waiting);
                continue;
            }
            try
            {
                Add(batch, await _mailbox.TakeAsync(deadline.Token));
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Letterboxes one frame into the batch's next slot, unless it is stale or cannot be decoded.</summary>
    private void Add(Batch batch, PendingFrame pending)
    {
        var frame = pending.Frame;
        var taken = DateTimeOffset.UtcNow;
        var age = taken - pending.ReceivedAt;
        if (age > _options.MaxFrameAge)
        {
            _stats.RecordDrop(frame.Camera, DropReasons.Stale);
            return;
        }
        var slot = batch.Count;
        try
        {
            var preprocessor = batch.Engine.Preprocessor;
            batch.Boxes[slot] = preprocessor.Prepare(frame, batch.Slot(slot), out batch.Timings[slot]);
            batch.Decoded[slot] = _snapshotDue?.Invoke(frame.Camera) == true ? preprocessor.CopyDecoded() : null;
        }
        catch (FrameDecodeException ex)
        {
            _errors.Report(ex.Kind, $"Frame {frame.Sequence} of '{frame.Camera}': {ex.Message}",
                pending.Topic, pending.PayloadBytes, frame.Camera);
            return;
        }
        batch.Frames[slot] = pending;
        batch.QueueMs[slot] = age.TotalMilliseconds;
        batch.Count++;
    }

    private void InferLoop(CancellationToken ct)
    {
        // This thread calls into the session and runs part of every operator: it needs the same priority as the pool.
        if (Engine.Model.Nice is { } nice && ThreadNice.TrySet(nice, inherited: false) is { } error)
        {
            _logger.LogWarning("Inference thread keeps its priority; nice {Nice} could not be set: {Reason}",
                nice, error);
        }
        try
        {
            while (_ready.Reader.WaitToReadAsync(ct).AsTask().GetAwaiter().GetResult())
            {
                while (_ready.Reader.TryRead(out var batch))
                {
                    try
                    {
                        Infer(batch, ct);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        batch.Engine.RecordFailed(batch.Count);
                        _errors.Report(ErrorKinds.Internal,
                            $"Inference of a batch of {batch.Count} on {batch.Engine.Model.ModelId} failed: " +
                            ex.Message);
                    }
                    finally
                    {
                        batch.Engine.ExitBatch();
                        Array.Clear(batch.Frames);
                        batch.ReleaseDecoded();
                        _free.Writer.TryWrite(batch);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void Infer(Batch batch, CancellationToken ct)
    {
        var engine = batch.Engine;
        var model = engine.Model;
        var start = Stopwatch.GetTimestamp();
        using var outputs = model.Run(batch.Input, batch.Count);
        var elapsed = Stopwatch.GetElapsedTime(start);
        engine.RecordRun(batch.Count, elapsed);
        var inferenceMs = elapsed.TotalMilliseconds;
        _stats.RecordBatch(batch.Count);
        var data = outputs[0].GetTensorDataAsSpan<float>();
        var perImage = engine.Postprocessor.ValuesPerImage;
        if (data.Length != batch.Count * perImage)
        {
            engine.RecordFailed(batch.Count);
            _errors.Report(ErrorKinds.ModelOutput,
                $"Model {model.ModelId} returned {data.Length} values for {batch.Count} image(s); " +
                $"{perImage} per image expected.");
            return;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            var postStart = Stopwatch.GetTimestamp();
            var pending = batch.Frames[i]!;
            var frame = pending.Frame;
            var box = batch.Boxes[i];
            if (engine.Postprocessor.Process(data.Slice(i * perImage, perImage), box) is not { } detections)
            {
                engine.RecordFailed(1);
                _errors.Report(ErrorKinds.ModelOutput,
                    $"Model {model.ModelId}: output for frame {frame.Sequence} of '{frame.Camera}' holds no finite " +
                    "score (all NaN/Inf).", pending.Topic, pending.PayloadBytes, frame.Camera);
                continue;
            }
            var postMs = Stopwatch.GetElapsedTime(postStart).TotalMilliseconds;
            var timings = new StageTimings
            {
                QueueMs = batch.QueueMs[i],
                DecodeMs = batch.Timings[i].DecodeMs,
                LetterboxMs = batch.Timings[i].LetterboxMs,
                InferenceMs = inferenceMs,
                PostprocessMs = postMs,
            };
            Record(timings);
            _stats.RecordProcessed(frame.Camera);
            engine.RecordProcessed();
            var set = new DetectionSet
            {
                Camera = frame.Camera,
                FrameSequence = frame.Sequence,
                CapturedAt = frame.CapturedAt,
                FrameId = frame.Id,
                ModelId = model.ModelId,
                ImageWidth = box.SourceWidth,
                ImageHeight = box.SourceHeight,
                Detections = detections,
                Timings = timings,
            };
            var result = new DetectionResult(set, frame, pending.Trace, batch.Decoded[i]);
            batch.Decoded[i] = null; // handed on with the result
            if (!_output.TryWrite(result)) _output.WriteAsync(result, ct).AsTask().GetAwaiter().GetResult();
        }
        _logger.LogDebug("Batch of {Count} in {Ms:F1} ms", batch.Count, inferenceMs);
    }

    private void Record(StageTimings t)
    {
        DetectorStats.RecordStage("queue", t.QueueMs);
        DetectorStats.RecordStage("decode", t.DecodeMs);
        DetectorStats.RecordStage("letterbox", t.LetterboxMs);
        DetectorStats.RecordStage("inference", t.InferenceMs);
        DetectorStats.RecordStage("postprocess", t.PostprocessMs);
        // The same on the shared edge.stage.duration{component, stage}.
        EdgeTelemetry.RecordStage(_component, "decode", t.DecodeMs);
        EdgeTelemetry.RecordStage(_component, "letterbox", t.LetterboxMs);
        EdgeTelemetry.RecordStage(_component, "inference", t.InferenceMs);
        EdgeTelemetry.RecordStage(_component, "postprocess", t.PostprocessMs);
    }

    /// <summary>
    /// Detections of one frame, the frame itself (its data is the received payload, not a copy), the trace context of
    /// the frame's receive span, for the publisher, and the decoded pixels when the frame is due for a snapshot.
    /// </summary>
    internal readonly record struct DetectionResult(
        DetectionSet Set, Frame Frame, ActivityContext Trace, DecodedImage? Decoded = null);

    /// <summary>A reusable input buffer for up to <see cref="Capacity"/> images and what is known about each.</summary>
    private sealed class Batch(ModelEngine engine)
    {
        private readonly int _tensorLength = engine.Model.Input.TensorLength;

        /// <summary>The engine this buffer is sized and prepared for.</summary>
        public ModelEngine Engine { get; } = engine;
        public int Capacity { get; } = engine.Model.MaxBatch;
        public float[] Input { get; } = new float[engine.Model.MaxBatch * engine.Model.Input.TensorLength];
        public PendingFrame?[] Frames { get; } = new PendingFrame?[engine.Model.MaxBatch];
        public DecodedImage?[] Decoded { get; } = new DecodedImage?[engine.Model.MaxBatch];
        public Letterbox[] Boxes { get; } = new Letterbox[engine.Model.MaxBatch];
        public PreprocessTimings[] Timings { get; } = new PreprocessTimings[engine.Model.MaxBatch];
        public double[] QueueMs { get; } = new double[engine.Model.MaxBatch];
        public int Count { get; set; }

        public Span<float> Slot(int index) => Input.AsSpan(index * _tensorLength, _tensorLength);

        /// <summary>Releases the pixels of frames that produced no result.</summary>
        public void ReleaseDecoded()
        {
            foreach (var decoded in Decoded) decoded?.Release();
            Array.Clear(Decoded);
        }
    }
}
