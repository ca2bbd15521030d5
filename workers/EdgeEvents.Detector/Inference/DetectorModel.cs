using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference.Providers;
using EdgeEvents.Detector.Postprocessing;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace EdgeEvents.Detector.Inference;

/// <summary>
/// One ONNX Runtime session of a YOLO model plus what the pipeline needs to know about it: input size and format,
/// output layout, class labels, whether the batch dimension is dynamic, and which execution provider runs it.
/// <see cref="Run"/> may be called from one thread at a time per instance.
/// </summary>
public sealed class DetectorModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int[] _outputDims;

    private DetectorModel(InferenceSession session, string path, string modelId, string provider, ModelType type,
        InputFormat input, bool dynamicBatch, int maxBatch, string[] labels, int[] outputDims)
    {
        _session = session;
        Path = path;
        ModelId = modelId;
        Provider = provider;
        Type = type;
        Input = input;
        DynamicBatch = dynamicBatch;
        MaxBatch = maxBatch;
        Labels = labels;
        _outputDims = outputDims;
        _inputNames = [session.InputMetadata.Keys.First()];
        _outputNames = [session.OutputMetadata.Keys.First()];
    }

    public string Path { get; }
    public string ModelId { get; }
    /// <summary>
    /// The execution provider the session was created with first: <c>TensorRT</c>, <c>CUDA</c> or <c>CPU</c>.
    /// </summary>
    public string Provider { get; }
    public ModelType Type { get; }
    public InputFormat Input { get; }
    public bool DynamicBatch { get; }
    /// <summary>
    /// Most images per <see cref="Run"/>: the configured batch when the batch dimension is dynamic, else 1.
    /// </summary>
    public int MaxBatch { get; }
    public IReadOnlyList<string> Labels { get; }
    /// <summary>
    /// The nice value ONNX Runtime's threads of this session got (<c>InferenceNice</c>), or null when left alone.
    /// </summary>
    public int? Nice { get; private init; }

    /// <summary>
    /// Loads the model named by <paramref name="options"/>; fails with the file name when it does not exist.
    /// </summary>
    public static DetectorModel Load(DetectorOptions options, ILogger logger)
    {
        var path = System.IO.Path.GetFullPath(options.ModelPath);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Detector model file not found: {path} (Detector:ModelPath).", path);

        var (session, provider, nice) = CreateSessionAtInferenceNice(path, options, logger);
        try
        {
            var input = session.InputMetadata.First().Value;
            var output = session.OutputMetadata.First().Value;
            if (input.Dimensions.Length != 4 || output.Dimensions.Length != 3)
            {
                throw new InvalidDataException(
                    $"Model {path} has input [{string.Join(',', input.Dimensions)}] and output " +
                    $"[{string.Join(',', output.Dimensions)}]; a YOLO detector needs an NCHW input and a rank-3 " +
                    "output.");
            }
            var metadata = session.ModelMetadata.CustomMetadataMap;
            metadata.TryGetValue("names", out var names);
            var type = options.ModelType != ModelType.Auto
                ? options.ModelType
                : DetectType(output.Dimensions, names is not null);
            var height = input.Dimensions[2] > 0 ? input.Dimensions[2] : options.DefaultInputSize;
            var width = input.Dimensions[3] > 0 ? input.Dimensions[3] : options.DefaultInputSize;
            var classCount = type == ModelType.YoloV8 ? output.Dimensions[1] - 4 : output.Dimensions[2] - 5;
            if (classCount < 1)
            {
                throw new InvalidDataException(
                    $"Model {path}: output [{string.Join(',', output.Dimensions)}] does not give a class count for a " +
                    $"{type} layout.");
            }
            var labels = ClassNames.Resolve(classCount, names, options.LabelsPath, out var labelSource);
            var format = type == ModelType.YoloV8
                ? new InputFormat(width, height, Bgr: false, PixelDivisor: 255, Centered: true)
                : new InputFormat(width, height, Bgr: true, PixelDivisor: 1, Centered: false);
            var dynamicBatch = input.Dimensions[0] <= 0;
            var modelId = options.ModelId ?? System.IO.Path.GetFileNameWithoutExtension(path);
            var model = new DetectorModel(session, path, modelId, provider, type,
                format, dynamicBatch, dynamicBatch ? options.MaxBatch : 1, labels, output.Dimensions)
            { Nice = nice };
            logger.LogInformation(
                "Model {Path}: {Type}, input {Width}x{Height}, {Classes} classes (labels from {LabelSource}), " +
                "batch {Batch}, provider {Provider}",
                path, type, width, height, classCount, labelSource,
                dynamicBatch ? $"dynamic (max {model.MaxBatch})" : "1", provider);
            model.WarmUp(options.WarmupRuns);
            return model;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// YOLOv8 outputs <c>[N, 4+C, A]</c> (fewer channels than anchors), YOLOX <c>[N, A, 5+C]</c>; with dynamic dims,
    /// Ultralytics metadata decides.
    /// </summary>
    internal static ModelType DetectType(int[] outputDims, bool hasUltralyticsNames)
    {
        if (outputDims[1] > 0 && outputDims[2] > 0)
            return outputDims[1] < outputDims[2] ? ModelType.YoloV8 : ModelType.YoloX;
        return hasUltralyticsNames ? ModelType.YoloV8 : ModelType.YoloX;
    }

    /// <summary>A decoder for this model's output; each pipeline needs its own (they hold scratch buffers).</summary>
    public IOutputDecoder CreateDecoder()
    {
        var classes = Labels.Count;
        if (Type == ModelType.YoloX) return new YoloXDecoder(classes, Input.Width, Input.Height);
        var anchors = _outputDims[2] > 0 ? _outputDims[2] : YoloXDecoder.AnchorCount(Input.Width, Input.Height);
        return new YoloV8Decoder(classes, anchors);
    }

    /// <summary>
    /// Runs <paramref name="batch"/> images held in the front of <paramref name="input"/> (CHW each); the caller
    /// disposes the outputs.
    /// </summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(float[] input, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batch, MaxBatch);
        var length = batch * Input.TensorLength;
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, length),
            [batch, 3, Input.Height, Input.Width]);
        return _session.Run(_runOptions, _inputNames, [value], _outputNames);
    }

    private void WarmUp(int runs)
    {
        var blank = new float[MaxBatch * Input.TensorLength];
        for (var i = 0; i < runs; i++)
        {
            using (Run(blank, 1)) { }
            if (MaxBatch > 1) using (Run(blank, MaxBatch)) { }
        }
    }

    /// <summary>
    /// With a nonzero <c>InferenceNice</c>, creates the session on a thread of its own at that nice value, so that the
    /// intra-op threads ONNX Runtime starts there inherit it (and no other thread keeps it); when it cannot be set
    /// (no privilege to raise priority), logs why and creates the session as usual.
    /// </summary>
    private static (InferenceSession Session, string Provider, int? Nice) CreateSessionAtInferenceNice(
        string path, DetectorOptions options, ILogger logger)
    {
        if (options.InferenceNice == 0)
        {
            var (session, provider) = CreateSession(path, options, logger);
            return (session, provider, null);
        }
        var (created, createdWith) = ThreadNice.RunOnNewThread("Detector session", options.InferenceNice,
            () => CreateSession(path, options, logger), out var error);
        if (error is not null)
        {
            logger.LogWarning("Inference threads keep their priority; nice {Nice} could not be set: {Reason}",
                options.InferenceNice, error);
            return (created, createdWith, null);
        }
        logger.LogInformation("ONNX Runtime's threads run at nice {Nice}", options.InferenceNice);
        return (created, createdWith, options.InferenceNice);
    }

    /// <summary>
    /// Appends the configured providers in order; one whose native libraries are missing (no CUDA/TensorRT on this
    /// machine, probed first so ONNX Runtime prints no load errors) or that ONNX Runtime refuses is logged in one line
    /// and skipped. ONNX Runtime then places each node on the first appended provider that supports it.
    /// </summary>
    private static (InferenceSession Session, string Provider) CreateSession(
        string path, DetectorOptions options, ILogger logger)
    {
        var requested =
            options.Providers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var sessionOptions = NewSessionOptions(options);
        var loaded = new List<string>();
        foreach (var name in requested)
        {
            var canonical = CanonicalProvider(name);
            if (canonical == "CPU")
            {
                loaded.Add(canonical);
                break; // CPU runs everything; providers after it would never be used.
            }
            if (ProviderLibraries.FirstMissing(canonical) is { } missing)
            {
                logger.LogInformation("Execution provider {Provider} skipped: {Library} is not installed",
                    canonical, missing);
                continue;
            }
            try
            {
                AppendGpuProvider(sessionOptions, canonical, options);
                loaded.Add(canonical);
            }
            catch (OnnxRuntimeException ex)
            {
                logger.LogInformation("Execution provider {Provider} skipped: {Reason}",
                    canonical, FirstLine(ex.Message));
            }
        }
        if (loaded.Count == 0)
        {
            sessionOptions.Dispose();
            throw new InvalidOperationException(
                $"None of the execution providers '{options.Providers}' could be loaded; add CPU to " +
                "Detector:Providers to fall back.");
        }
        try
        {
            var session = new InferenceSession(path, sessionOptions);
            logger.LogInformation("Inference session uses {Providers}", string.Join(" > ", loaded));
            return (session, loaded[0]);
        }
        catch (OnnxRuntimeException ex) when (loaded[0] != "CPU" && loaded.Contains("CPU"))
        {
            // A GPU provider's library loaded but the session could not use it (no device, driver mismatch).
            logger.LogWarning("Session with {Providers} failed ({Reason}); falling back to CPU",
                string.Join(" > ", loaded), FirstLine(ex.Message));
            using var cpuOnly = NewSessionOptions(options);
            return (new InferenceSession(path, cpuOnly), "CPU");
        }
        finally
        {
            sessionOptions.Dispose();
        }
    }

    /// <summary>Appends TensorRT or CUDA with the settings of its option section.</summary>
    private static void AppendGpuProvider(SessionOptions sessionOptions, string provider, DetectorOptions options)
    {
        if (provider == "TensorRT")
        {
            using var trt = new OrtTensorRTProviderOptions();
            trt.UpdateOptions(ProviderSettings.TensorRt(options.TensorRt, options.DeviceId));
            sessionOptions.AppendExecutionProvider_Tensorrt(trt);
        }
        else
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(ProviderSettings.Cuda(options.Cuda, options.DeviceId));
            sessionOptions.AppendExecutionProvider_CUDA(cuda);
        }
    }

    /// <summary>
    /// Session settings every provider shares (the benchmark builds its bare baseline session with these too).
    /// </summary>
    internal static SessionOptions NewSessionOptions(DetectorOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", options.IntraOpSpinning ? "1" : "0");
        return sessionOptions;
    }

    private static string CanonicalProvider(string name) => name.ToUpperInvariant() switch
    {
        "TENSORRT" or "TRT" => "TensorRT",
        "CUDA" => "CUDA",
        "CPU" => "CPU",
        _ => throw new InvalidOperationException(
            $"Unknown execution provider '{name}' in Detector:Providers; use TensorRT, CUDA or CPU."),
    };

    private static string FirstLine(string message)
    {
        var newline = message.IndexOf('\n');
        return newline < 0 ? message : message[..newline];
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
