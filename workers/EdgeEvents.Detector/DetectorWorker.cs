using System.Diagnostics;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Detector.Intake;
using EdgeEvents.Detector.Rollout;
using EdgeEvents.Detector.Snapshots;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector;

/// <summary>
/// Consumes frames from <c>{prefix}/frames/+</c>, runs the detector model and publishes a <see cref="DetectionSet"/>
/// (JSON, at least once) per processed frame on <c>{prefix}/detections/{camera}</c>. Flow: transport subscription
/// (bounded, oldest dropped) → intake (parse, validate) → <see cref="FrameMailbox"/> (latest frame per camera) →
/// one <see cref="InferenceLane"/> per session → publisher → (at most <c>SnapshotsPerSecond</c> per camera)
/// <see cref="SnapshotPublisher"/>, which draws the detections on the frame and publishes it retained on
/// <c>{prefix}/snapshots/{camera}</c> off the detection path. Bad input is reported on <c>{prefix}/errors/detector</c>
/// and the worker keeps going; a missing model fails <see cref="StartAsync"/>. With <c>DataPath</c> set, a
/// <see cref="ModelRollout"/> follows <c>{prefix}/control/detector/model</c> and switches the lanes to a new model that
/// passes its gate.
/// </summary>
public sealed class DetectorWorker : BackgroundService
{
    /// <summary>
    /// Component name: the key of its <see cref="EdgeComponent"/>, its client id, status and error topics.
    /// </summary>
    public const string Component = "detector";

    private readonly DetectorOptions _options;
    private readonly EdgeComponent _component;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly FrameMailbox _mailbox;
    private readonly Channel<InferenceLane.DetectionResult> _results =
        Channel.CreateBounded<InferenceLane.DetectionResult>(
            new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Dictionary<string, long> _bareSequences = new(StringComparer.Ordinal);
    private readonly List<InferenceLane> _lanes = [];
    private readonly SnapshotPublisher? _snapshots;
    private readonly CameraPartition _partition;
    private readonly string _clientId;
    private readonly RecentFrames? _recentFrames;
    private IMessageSubscription? _subscription;
    // Model downloads; one client for the process, as HttpClient is meant to be used.
    private static readonly HttpClient Http = new();
    private IMessageSubscription? _control;
    private ModelRollout? _rollout;

    /// <param name="clientId">This detector's transport client id: it names its model status topic.</param>
    public DetectorWorker(
        DetectorOptions options, EdgeComponent component, ILoggerFactory loggerFactory, string clientId = "detector")
    {
        _clientId = clientId;
        if (options.DataPath is { Length: > 0 }) _recentFrames = new RecentFrames(options.Rollout.GateFrames);
        _options = options;
        _partition = CameraPartition.Parse(options.Partition);
        _component = component;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<DetectorWorker>();
        Stats = new DetectorStats(component.Name);
        _mailbox = new FrameMailbox(options.MaxWaitingCameras, Stats);
        if (options.SnapshotsPerSecond > 0) _snapshots = new SnapshotPublisher(options, component, Stats);
    }

    public DetectorStats Stats { get; }

    /// <summary>Frames waiting in the per-camera mailbox now (at most one per camera).</summary>
    public int WaitingFrames => _mailbox.Count;

    /// <summary>Frames the transport subscription dropped because the intake fell behind.</summary>
    public long IntakeDropped => _subscription?.Dropped ?? 0;

    /// <summary>The models running now, one per session (empty before start).</summary>
    public IReadOnlyList<DetectorModel> Models => _lanes.Select(l => l.Engine.Model).ToList();

    /// <summary>The last model status published (null when the rollout is off).</summary>
    public ModelStatus? ModelStatus => _rollout?.Status;

    /// <summary>
    /// Loads the model sessions (failing start-up if the model cannot be loaded) and subscribes to frames.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var (start, state) = _recentFrames is null
            ? (null, null)
            : await ModelRollout.ResumeAsync(_options, _logger, cancellationToken);
        var modelOptions = start is null ? _options : ModelRollout.OptionsFor(_options, start);
        try
        {
            for (var i = 0; i < _options.Sessions; i++)
            {
                var model = DetectorModel.Load(modelOptions, _loggerFactory.CreateLogger<DetectorModel>());
                _lanes.Add(new InferenceLane(new ModelEngine(model, modelOptions), _options, _mailbox, Stats,
                    _component.Errors, _results.Writer, _loggerFactory.CreateLogger<InferenceLane>(), _component.Name,
                    _snapshots is null ? null : _snapshots.IsDue));
            }
        }
        catch
        {
            DisposeLanes();
            throw;
        }
        var filter = _component.Topics.AllOf(TopicKind.Frames);
        _subscription = await _component.Transport.SubscribeAsync(new SubscriptionRequest(filter)
        {
            Delivery = Delivery.AtMostOnce,
            Group = string.IsNullOrEmpty(_options.Group) ? null : _options.Group,
            Capacity = _options.IntakeCapacity,
            Overload = OverloadPolicy.DropOldest,
        }, cancellationToken);
        if (start is not null)
        {
            _rollout = new ModelRollout(_options, _component, _clientId, _lanes, _recentFrames!, state!, start, Http,
                _loggerFactory);
            _control = await _component.Transport.SubscribeAsync(
                new SubscriptionRequest(_rollout.ControlTopic) { Capacity = 16 }, cancellationToken);
            _logger.LogInformation("Model rollout: following {Control}, status on {Status}, data in {DataPath}",
                _rollout.ControlTopic, _rollout.StatusTopic, Path.GetFullPath(_options.DataPath!));
        }
        _logger.LogInformation(
            "Detector subscribed to {Filter}{Group} (partition {Partition}) with {Sessions} session(s)",
            filter, _options.Group is { Length: > 0 } g ? $" (group {g})" : "", _partition, _lanes.Count);
        if (_snapshots is not null)
        {
            _logger.LogInformation("Snapshots: at most {Rate}/s per camera, encoded with {Encoder}",
                _options.SnapshotsPerSecond, JpegEncoder.Library);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lanes = _lanes.Select(l => l.RunAsync(stoppingToken)).ToList();
        var publisher = PublishLoopAsync(stoppingToken);
        var snapshots = _snapshots is null
            ? Task.CompletedTask
            : Task.Run(() => _snapshots.RunAsync(stoppingToken), CancellationToken.None);
        var rollout = _rollout is null
            ? Task.CompletedTask
            : Task.Run(() => _rollout.RunAsync(_control!, stoppingToken), CancellationToken.None);
        try
        {
            await foreach (var message in _subscription!.Messages.ReadAllAsync(stoppingToken)) Intake(message);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await Task.WhenAll(lanes);
        _results.Writer.TryComplete();
        await publisher;
        await snapshots;
        await rollout;
    }

    /// <summary>
    /// Parses and validates one message and offers the frame to the mailbox; bad input is reported, never thrown.
    /// </summary>
    private void Intake(ReceivedMessage message)
    {
        var (kind, camera) = _component.Topics.Parse(message.Topic);
        if (kind != TopicKind.Frames || camera is null)
        {
            _component.Errors.Report(ErrorKinds.UnknownTopic, $"'{message.Topic}' is not a frames topic.",
                message.Topic, message.Payload.Length);
            return;
        }
        if (!_partition.Owns(camera)) return;
        Frame frame;
        try
        {
            frame = FramePayload.Parse(message.Payload, camera, NextBareSequence(camera), message.ReceivedAt,
                message.ContentType);
        }
        catch (MessageFormatException ex)
        {
            // Codec failures wrap the serializer's exception; envelope validation failures (empty data, bad raw size)
            // do not.
            var errorKind = ex.InnerException is null && !message.Payload.IsEmpty
                ? ErrorKinds.InvalidFrame
                : ErrorKinds.MalformedPayload;
            _component.Errors.Report(errorKind, ex.Message, message.Topic, message.Payload.Length, camera);
            return;
        }
        // The topic names the source (the broker checks who may publish there); an envelope may not claim another
        // camera.
        if (frame.Camera != camera)
        {
            _component.Errors.Report(ErrorKinds.InvalidFrame,
                $"Frame envelope names camera '{frame.Camera}' but arrived on '{message.Topic}': the topic's camera " +
                $"'{camera}' is the source.",
                message.Topic, message.Payload.Length, camera);
            return;
        }
        var pending = new PendingFrame(frame, message.Topic, message.Payload.Length, message.ReceivedAt,
            EdgeTelemetry.ContextOf(message));
        if (!_mailbox.Offer(pending))
        {
            _component.Errors.Report(ErrorKinds.Overload,
                $"Frame of '{frame.Camera}' dropped: {_options.MaxWaitingCameras} cameras already have a frame " +
                "waiting.",
                message.Topic, message.Payload.Length, frame.Camera);
        }
    }

    private long NextBareSequence(string camera)
    {
        // Bounded against floods of made-up camera names; a reset only restarts the numbering of bare images.
        if (_bareSequences.Count >= 4096 && !_bareSequences.ContainsKey(camera)) _bareSequences.Clear();
        _bareSequences.TryGetValue(camera, out var n);
        _bareSequences[camera] = n + 1;
        return n;
    }

    private async Task PublishLoopAsync(CancellationToken ct)
    {
        var topics = _component.Topics;
        try
        {
            await foreach (var (set, frame, trace, decoded) in _results.Reader.ReadAllAsync(ct))
            {
                var start = Stopwatch.GetTimestamp();
                // A child of the frame's receive span: the detections' publish continues the frame's trace.
                using var span = EdgeTelemetry.StartProcessing(_component.Name, "detect", trace);
                span.SetTag("camera", set.Camera).SetTag("detections", set.Detections.Count);
                try
                {
                    var payload = MessageCodec.Serialize(set, PayloadFormat.Json);
                    await _component.Transport.PublishAsync(new OutgoingMessage(topics.Detections(set.Camera), payload)
                    {
                        ContentType = ContentTypes.Json,
                        Delivery = Delivery.AtLeastOnce,
                        MessageId = set.Id,
                    }, ct);
                    Stats.RecordPublished();
                    DetectorStats.RecordStage("publish", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    EdgeTelemetry.DetectionsPublished(_component.Name, set.Camera, set.Detections.Select(d => d.Label),
                        set.CapturedAt);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    span.Fail(ex);
                    _component.Errors.Report(ErrorKinds.Internal,
                        $"Publishing detections of '{set.Camera}' failed: {ex.Message}", camera: set.Camera);
                }
                _snapshots?.Offer(set, frame, decoded);
                _recentFrames?.Add(frame);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_subscription is not null) await _subscription.DisposeAsync();
        if (_control is not null) await _control.DisposeAsync();
        _rollout?.Dispose();
        DisposeLanes();
    }

    private void DisposeLanes()
    {
        foreach (var lane in _lanes) lane.Engine.Dispose();
        _lanes.Clear();
    }
}
