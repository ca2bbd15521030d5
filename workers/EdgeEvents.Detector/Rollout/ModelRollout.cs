using System.Text.Json;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector.Evaluation;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector.Rollout;

/// <summary>
/// Over-the-air model rollout for one detector. For each request on <c>{prefix}/control/detector/model</c>:
/// downloading (fetch and checksum) → verifying (load, gate on recent frames) → active (every lane switches between
/// two batches; probation watches the new model's failed frames and its speed) → kept, or rolled back to the previous
/// model, whose sessions stay loaded until probation ends. The state is retained on
/// <c>{prefix}/status/detector/{clientId}/model</c> and remembered in <see cref="RolloutState"/>. Requests are handled
/// one at a time, in order.
/// </summary>
internal sealed class ModelRollout : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly DetectorOptions _options;
    private readonly RolloutOptions _rollout;
    private readonly EdgeComponent _component;
    private readonly IReadOnlyList<InferenceLane> _lanes;
    private readonly RecentFrames _frames;
    private readonly ModelFetcher _fetcher;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly string _dataPath;
    private RolloutState _state;
    private ModelFile _current;
    // The engines switched away from while a new model is in probation, kept loaded for an instant rollback.
    private List<ModelEngine> _standby = [];

    public ModelRollout(DetectorOptions options, EdgeComponent component, string clientId,
        IReadOnlyList<InferenceLane> lanes, RecentFrames frames, RolloutState state, ModelFile current, HttpClient http,
        ILoggerFactory loggerFactory)
    {
        _options = options;
        _rollout = options.Rollout;
        _dataPath = options.DataPath!;
        _component = component;
        _lanes = lanes;
        _frames = frames;
        _state = state;
        _current = current;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ModelRollout>();
        _fetcher = new ModelFetcher(_dataPath, http, _logger);
        ControlTopic = $"{component.Topics.Prefix}/control/detector/model";
        StatusTopic = component.Topics.DetectorModel(clientId);
    }

    public string ControlTopic { get; }
    public string StatusTopic { get; }

    /// <summary>The last status published.</summary>
    public ModelStatus? Status { get; private set; }

    /// <summary>
    /// What the detector starts with: the last model that passed, from the state file in <c>DataPath</c>, else
    /// <c>Detector:ModelPath</c>. A model still in probation when the detector stopped is rejected (it may be what
    /// stopped it).
    /// </summary>
    public static async Task<(ModelFile Start, RolloutState State)> ResumeAsync(
        DetectorOptions options, ILogger logger, CancellationToken ct)
    {
        var dataPath = options.DataPath!;
        Directory.CreateDirectory(dataPath);
        var state = RolloutState.Load(dataPath);
        if (state.OnProbation is { } interrupted)
        {
            logger.LogWarning("Model {Version} was in probation when the detector stopped; it is rejected",
                interrupted.Version);
            state = state.Reject(new RejectedModel(interrupted.Version, interrupted.Sha256, RolloutStates.RolledBack,
                "the detector restarted while the model was in probation")) with
            { OnProbation = null };
            state.Save(dataPath);
        }
        if (state.Active is { } active && File.Exists(active.Path))
        {
            logger.LogInformation("Starting with model {Version} ({Path}), the last one that passed",
                active.Version, active.Path);
            return (active, state);
        }
        var path = Path.GetFullPath(options.ModelPath);
        var configured = new ModelFile(options.ModelId ?? Path.GetFileNameWithoutExtension(path), path,
            File.Exists(path) ? await ModelFetcher.Sha256Async(path, ct) : "", options.ModelType, options.LabelsPath);
        return (configured, state);
    }

    /// <summary>The detector options that load <paramref name="file"/>.</summary>
    public static DetectorOptions OptionsFor(DetectorOptions options, ModelFile file) =>
        options with
        {
            ModelPath = file.Path,
            ModelId = file.Version,
            ModelType = file.ModelType,
            LabelsPath = file.LabelsPath,
        };

    /// <summary>
    /// Publishes the starting state, then handles control messages until <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task RunAsync(IMessageSubscription control, CancellationToken ct)
    {
        try
        {
            await PublishAsync(new ModelStatus(RolloutStates.Active, _current.Version, _current.Version,
                _state.Previous?.Version), ct);
            await foreach (var message in control.Messages.ReadAllAsync(ct))
            {
                ModelRequest request;
                try
                {
                    request = ModelRequest.Parse(message.Payload);
                }
                catch (MessageFormatException ex)
                {
                    _component.Errors.Report(ErrorKinds.MalformedPayload, ex.Message, message.Topic,
                        message.Payload.Length);
                    continue;
                }
                try
                {
                    await HandleAsync(request, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // An I/O failure of the data folder, say: the current model keeps running, the next request is
                    // handled.
                    _logger.LogError(ex, "Rollout of model {Version} failed", request.Version);
                    _component.Errors.Report(ErrorKinds.Internal,
                        $"Rollout of model {request.Version} failed: {ex.Message}", message.Topic);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(ModelRequest request, CancellationToken ct)
    {
        if (request.Version == _current.Version && request.Sha256 == _current.Sha256)
        {
            await PublishAsync(new ModelStatus(RolloutStates.Active, request.Version, _current.Version,
                _state.Previous?.Version), ct);
            return;
        }
        if (_state.RejectionOf(request) is { } rejected)
        {
            var reason = $"{rejected.Reason} (rejected before; publish another version to retry)";
            await PublishAsync(new ModelStatus(rejected.State, request.Version, _current.Version,
                _state.Previous?.Version, reason), ct);
            return;
        }
        _logger.LogInformation("Rolling out model {Version} from {Uri}", request.Version, request.Uri);
        await PublishAsync(new ModelStatus(RolloutStates.Downloading, request.Version, _current.Version,
            _state.Previous?.Version), ct);
        ModelFile candidate;
        try
        {
            candidate = await FetchAsync(request, ct);
        }
        catch (ModelRejectedException ex)
        {
            await RejectAsync(request, RolloutStates.Failed, ex.Message, null, ct);
            return;
        }

        await PublishAsync(new ModelStatus(RolloutStates.Verifying, request.Version, _current.Version,
            _state.Previous?.Version), ct);
        var frames = await _frames.WaitAsync(_rollout.GateTimeout, ct);
        var minAgreement = request.MinAgreement ?? _rollout.MinAgreement;
        var maxSlowdown = request.MaxSlowdown ?? _rollout.MaxSlowdown;
        var (gate, loadError) = await Task.Run(() => Verify(candidate, frames, minAgreement, maxSlowdown), ct);
        if (loadError is not null)
        {
            await RejectAsync(request, RolloutStates.Failed, loadError, null, ct);
            return;
        }
        if (!gate!.Passed)
        {
            await RejectAsync(request, RolloutStates.RolledBack, $"gate: {gate.Reason}", gate.Report?.Agreement, ct);
            return;
        }
        _logger.LogInformation("Model {Version} passed the gate: {Figures}", request.Version, gate.Reason);

        List<ModelEngine> engines;
        try
        {
            engines = await Task.Run(() => LoadEngines(candidate), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await RejectAsync(request, RolloutStates.Failed, $"loading the model failed: {ex.Message}", null, ct);
            return;
        }
        await SwitchAndWatchAsync(request, candidate, engines, gate.Report!.Agreement, ct);
    }

    /// <summary>The previous model's file when it is requested again (no download), else the fetched one.</summary>
    private async Task<ModelFile> FetchAsync(ModelRequest request, CancellationToken ct)
    {
        if (_state.Previous is { } previous && previous.Version == request.Version
            && previous.Sha256 == request.Sha256 && File.Exists(previous.Path))
        {
            return previous;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_rollout.DownloadTimeout);
        string path;
        try
        {
            path = await _fetcher.FetchAsync(request, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ModelRejectedException(
                $"Fetching {request.Uri} took longer than {_rollout.DownloadTimeout}; a new request resumes it.");
        }
        string? labelsPath = null;
        if (request.Labels is { } labels)
        {
            labelsPath = path + ".labels";
            await File.WriteAllLinesAsync(labelsPath, labels, ct);
        }
        return new ModelFile(request.Version, path, request.Sha256, request.ModelType ?? ModelType.Auto, labelsPath);
    }

    /// <summary>
    /// Loads the candidate and the current model outside the pipeline and runs the gate; or says why the candidate does
    /// not load.
    /// </summary>
    private (GateResult? Gate, string? LoadError) Verify(ModelFile candidate, IReadOnlyList<Frame> frames,
        double minAgreement, double maxSlowdown)
    {
        var detectorLogger = _loggerFactory.CreateLogger<DetectorModel>();
        ImageDetector candidateDetector;
        try
        {
            candidateDetector =
                ImageDetector.Load(OptionsFor(_options, candidate) with { WarmupRuns = 1 }, detectorLogger);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, $"the model does not load as a detector: {ex.Message}");
        }
        using (candidateDetector)
        {
            using var currentDetector =
                ImageDetector.Load(OptionsFor(_options, _current) with { WarmupRuns = 1 }, detectorLogger);
            var gate = ModelGate.Run(candidateDetector, currentDetector, frames, minAgreement, maxSlowdown, _rollout);
            return (gate, null);
        }
    }

    private List<ModelEngine> LoadEngines(ModelFile file)
    {
        var engines = new List<ModelEngine>();
        try
        {
            var options = OptionsFor(_options, file);
            var modelLogger = _loggerFactory.CreateLogger<DetectorModel>();
            foreach (var _ in _lanes) engines.Add(new ModelEngine(DetectorModel.Load(options, modelLogger), options));
            return engines;
        }
        catch
        {
            foreach (var engine in engines) engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Switches every lane to <paramref name="engines"/>, watches them through probation, and keeps them or switches
    /// back.
    /// </summary>
    private async Task SwitchAndWatchAsync(
        ModelRequest request, ModelFile candidate, List<ModelEngine> engines, double agreement, CancellationToken ct)
    {
        _state = _state with { OnProbation = candidate };
        _state.Save(_dataPath);
        var previous = _lanes.Select((lane, i) => lane.SwitchTo(engines[i])).ToList();
        var previousRate = RunRate(previous);
        _standby = previous;
        var until = DateTimeOffset.UtcNow + _rollout.Probation;
        _logger.LogInformation("Switched to model {Version}; probation until {Until:u}", request.Version, until);
        await PublishAsync(new ModelStatus(RolloutStates.Active, request.Version, request.Version, _current.Version,
            null, agreement, until), ct);

        var minSpeed = _rollout.ProbationMinSpeed / (request.MaxSlowdown ?? 1);
        var failure = await ProbationAsync(engines, previousRate, minSpeed, ct);
        if (failure is not null)
        {
            for (var i = 0; i < _lanes.Count; i++) _lanes[i].SwitchTo(previous[i]);
            _standby = [];
            await Task.WhenAll(engines.Select(e => e.DisposeWhenIdleAsync()));
            _state = _state with { OnProbation = null };
            await RejectAsync(request, RolloutStates.RolledBack, $"probation: {failure}", agreement, ct);
            return;
        }
        var replaced = _current;
        _current = candidate;
        _state = _state with { Active = candidate, Previous = replaced, OnProbation = null };
        _state.Save(_dataPath);
        _standby = [];
        await Task.WhenAll(previous.Select(e => e.DisposeWhenIdleAsync()));
        _fetcher.DeleteAllBut([candidate.Path, candidate.LabelsPath, replaced.Path, replaced.LabelsPath]);
        _logger.LogInformation("Model {Version} passed probation", request.Version);
        await PublishAsync(new ModelStatus(RolloutStates.Active, request.Version, request.Version, replaced.Version,
            null, agreement), ct);
    }

    /// <summary>
    /// Null when the window passes, else why it failed: too large a share of failed frames (checked throughout), or too
    /// slow against <paramref name="previousRate"/> (at the end, over the whole window).
    /// </summary>
    private async Task<string?> ProbationAsync(
        IReadOnlyList<ModelEngine> engines, double? previousRate, double minSpeed, CancellationToken ct)
    {
        var end = DateTime.UtcNow + _rollout.Probation;
        while (true)
        {
            var failed = engines.Sum(e => e.Failed);
            var total = failed + engines.Sum(e => e.Processed);
            if (failed >= _rollout.ProbationMinErrors && failed > _rollout.ProbationMaxErrorRate * total)
                return $"the model failed on {failed} of {total} frames, more than {_rollout.ProbationMaxErrorRate:P0}";
            var left = end - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return TooSlow(engines, previousRate, minSpeed);
            await Task.Delay(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100), ct);
        }
    }

    private string? TooSlow(IReadOnlyList<ModelEngine> engines, double? previousRate, double minSpeed)
    {
        var frames = engines.Sum(e => e.Runs.Frames);
        if (minSpeed == 0 || previousRate is not { } before || frames < _rollout.GateFrames
            || RunRate(engines) is not { } rate || rate >= minSpeed * before) return null;
        return $"the model ran {rate:F1} frames per second of inference over {frames} frames against {before:F1} for " +
               $"{_current.Version}, below {minSpeed:P0}";
    }

    /// <summary>Frames per second of model run time over <paramref name="engines"/>; null before they ran.</summary>
    private static double? RunRate(IEnumerable<ModelEngine> engines)
    {
        var (frames, time) = (0L, TimeSpan.Zero);
        foreach (var engine in engines)
        {
            var runs = engine.Runs;
            frames += runs.Frames;
            time += runs.RunTime;
        }
        return time > TimeSpan.Zero ? frames / time.TotalSeconds : null;
    }

    private async Task RejectAsync(
        ModelRequest request, string state, string reason, double? agreement, CancellationToken ct)
    {
        _logger.LogWarning("Model {Version} {State}: {Reason}; {Current} keeps running",
            request.Version, state, reason, _current.Version);
        _state = _state.Reject(new RejectedModel(request.Version, request.Sha256, state, reason));
        _state.Save(_dataPath);
        _fetcher.DeleteAllBut([_current.Path, _current.LabelsPath, _state.Previous?.Path, _state.Previous?.LabelsPath]);
        await PublishAsync(new ModelStatus(state, request.Version, _current.Version, _state.Previous?.Version,
            reason, agreement), ct);
    }

    private async Task PublishAsync(ModelStatus status, CancellationToken ct)
    {
        Status = status;
        RolloutMetrics.Record(status.State);
        var payload = JsonSerializer.SerializeToUtf8Bytes(status, Json);
        await _component.Transport.PublishAsync(new OutgoingMessage(StatusTopic, payload)
        {
            ContentType = ContentTypes.Json,
            Delivery = Delivery.AtLeastOnce,
            Retain = true,
        }, ct);
    }

    public void Dispose()
    {
        foreach (var engine in _standby) engine.Dispose();
        _standby = [];
    }
}
