using System.ComponentModel.DataAnnotations;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference.Providers;
using EdgeEvents.Detector.Rollout;
using EdgeEvents.Pipeline.Hosting;

namespace EdgeEvents.Detector;

/// <summary>Which output layout the model has and so how its input is prepared and its output decoded.</summary>
public enum ModelType
{
    /// <summary>
    /// Chosen from the model: Ultralytics metadata or an <c>[N, 4+C, A]</c> output means YOLOv8, <c>[N, A, 5+C]</c>
    /// means YOLOX.
    /// </summary>
    Auto,
    /// <summary>
    /// YOLOv8/YOLO11: RGB 0..1 input, centred letterbox, output <c>[N, 4+C, A]</c> (cx, cy, w, h, class scores).
    /// </summary>
    YoloV8,
    /// <summary>
    /// YOLOX: BGR 0..255 input, top-left letterbox, output <c>[N, A, 5+C]</c> on a stride 8/16/32 grid, objectness ×
    /// class score.
    /// </summary>
    YoloX,
}

/// <summary>Detector worker settings. Bound from configuration section <c>Detector</c>.</summary>
public sealed record DetectorOptions : IValidatableObject
{
    public const string Section = "Detector";

    /// <summary>Path of the ONNX model. Required; a missing file fails start-up with its name.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ModelPath { get; init; } = "";

    /// <summary>Model output layout. Default <see cref="ModelType.Auto"/>.</summary>
    public ModelType ModelType { get; init; } = ModelType.Auto;

    /// <summary>Name published as <c>modelId</c>. Default: the model file name without extension.</summary>
    public string? ModelId { get; init; }

    /// <summary>
    /// Class names, one per line, for models without a <c>names</c> metadata entry. Default: none (COCO-80 is used).
    /// </summary>
    public string? LabelsPath { get; init; }

    /// <summary>
    /// Execution providers to try, in order, comma-separated: <c>TensorRT</c>, <c>CUDA</c>, <c>CPU</c>. Providers whose
    /// libraries do not load are skipped (and logged). Default <c>TensorRT,CUDA,CPU</c>.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string Providers { get; init; } = "TensorRT,CUDA,CPU";

    /// <summary>GPU index for TensorRT and CUDA. Default 0.</summary>
    [Range(0, 64)]
    public int DeviceId { get; init; }

    /// <summary>
    /// TensorRT provider settings (engine and timing cache, precision, builder level, workspace): section
    /// <c>Detector:TensorRt</c>.
    /// </summary>
    public TensorRtOptions TensorRt { get; init; } = new();

    /// <summary>
    /// CUDA provider settings (cuDNN convolution search, memory arena limit): section <c>Detector:Cuda</c>.
    /// </summary>
    public CudaOptions Cuda { get; init; } = new();

    /// <summary>
    /// ONNX Runtime intra-op threads per session; 0 lets ONNX Runtime choose (one per physical core). Default 0.
    /// </summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Let ONNX Runtime's intra-op threads spin while waiting for work (ONNX Runtime's own default). Off, they sleep
    /// and leave the CPU to decoding and to the other workers on the box: on the shared 2-core machine this doubled
    /// frames per CPU-second (see bench/README.md). Turn on for a dedicated, idle CPU. Default false.
    /// </summary>
    public bool IntraOpSpinning { get; init; }

    /// <summary>
    /// Linux nice value for the inference threads (each session's run thread and ONNX Runtime's intra-op threads), so
    /// that on a busy CPU the model gets a core before decoding, MQTT and everything else in the process: −10 raised
    /// the worker's share of the bare session's frames/s on the 2-core bench machine, while decoding and letterboxing
    /// take longer by the clock (figures in bench/README.md, "Detector"). A negative value needs CAP_SYS_NICE (root, or
    /// systemd <c>AmbientCapabilities=CAP_SYS_NICE</c>) or a raised RLIMIT_NICE; without it a warning says so and the
    /// threads keep their priority. Default 0: left alone.
    /// </summary>
    [Range(-20, 19)]
    public int InferenceNice { get; init; }

    /// <summary>Inference sessions (each with its own pipeline) in this process. Default 1.</summary>
    [Range(1, 16)]
    public int Sessions { get; init; } = 1;

    /// <summary>Inference runs on a blank image at start-up, so the first real frame is not slow. Default 2.</summary>
    [Range(0, 100)]
    public int WarmupRuns { get; init; } = 2;

    /// <summary>
    /// How frames become model inputs: <see cref="PreprocessMode.Reference"/> decodes JPEGs at full scale and resizes
    /// as OpenCV's <c>INTER_LINEAR</c> (what Ultralytics validated the models with), <see cref="PreprocessMode.Fast"/>
    /// decodes at a reduced DCT scale and resamples with an antialiased bicubic, cheaper per frame (bench/README.md,
    /// "Preprocessing modes"). Default <see cref="PreprocessMode.Reference"/>.
    /// </summary>
    public PreprocessMode Preprocess { get; init; } = PreprocessMode.Reference;

    /// <summary>Input side used when the model's spatial input dimensions are dynamic. Default 640.</summary>
    [Range(32, 4096)]
    public int DefaultInputSize { get; init; } = 640;

    /// <summary>Minimum score of a detection. Default 0.25.</summary>
    [Range(0.0, 1.0)]
    public float Confidence { get; init; } = 0.25f;

    /// <summary>Class-wise non-maximum suppression IoU threshold (as Ultralytics predict). Default 0.7.</summary>
    [Range(0.0, 1.0)]
    public float Iou { get; init; } = 0.7f;

    /// <summary>Most detections kept per frame. Default 300.</summary>
    [Range(1, 10_000)]
    public int MaxDetections { get; init; } = 300;

    /// <summary>
    /// MQTT shared-subscription / NATS queue group; detectors with the same group split the frames between them.
    /// Default none: this detector receives every frame.
    /// </summary>
    public string? Group { get; init; }

    /// <summary>
    /// <c>i/n</c> (see <see cref="CameraPartition"/>): process only the cameras of partition <c>i</c> of
    /// <c>n</c>, ignoring the frames of the others. Unlike <see cref="Group"/>, which splits per frame, this keeps each
    /// camera on one detector, so its detection sets stay in order. Default <c>0/1</c>: every camera.
    /// </summary>
    public string Partition { get; init; } = "0/1";

    /// <summary>
    /// Frames buffered between the transport and the per-camera mailbox (oldest dropped when full). Default 64.
    /// </summary>
    [Range(1, 10_000)]
    public int IntakeCapacity { get; init; } = 64;

    /// <summary>
    /// Frames older than this (since receipt) when a pipeline is ready for them are dropped as stale. Default 2 s.
    /// </summary>
    public TimeSpan MaxFrameAge { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Cameras with a frame waiting at once; a frame from one more camera is dropped. Default 64.</summary>
    [Range(1, 100_000)]
    public int MaxWaitingCameras { get; init; } = 64;

    /// <summary>
    /// Batches prepared or running per session. 2 lets the next batch be decoded while the current one runs; frames in
    /// flight are at most <c>Sessions × BatchesInFlight × MaxBatch</c>. Default 2.
    /// </summary>
    [Range(1, 16)]
    public int BatchesInFlight { get; init; } = 2;

    /// <summary>
    /// Most frames (from different cameras) run as one batch, when the model's batch dimension is dynamic; a model with
    /// a fixed batch of 1 always runs one frame at a time. Default 1: batching did not raise throughput on a 2-core CPU
    /// (see bench/README.md); raise it on a GPU.
    /// </summary>
    [Range(1, 64)]
    public int MaxBatch { get; init; } = 1;

    /// <summary>How long a batch waits for more frames after its first one. Default 10 ms.</summary>
    public TimeSpan BatchDeadline { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Largest decoded image (width × height) accepted; bigger images are rejected before decoding. Default 4096 ×
    /// 4096.
    /// </summary>
    [Range(1, 268_435_456)]
    public long MaxImagePixels { get; init; } = 4096L * 4096;

    /// <summary>
    /// Annotated snapshots per second per camera: a processed frame with its boxes, labels and confidences drawn,
    /// published as a bare JPEG, retained, on <c>{prefix}/snapshots/{camera}</c> (what Home Assistant's MQTT camera
    /// shows). Drawn off the detection path. 0 turns snapshots off. Default 1.
    /// </summary>
    [Range(0.0, 30.0)]
    public double SnapshotsPerSecond { get; init; } = 1;

    /// <summary>JPEG quality of snapshots, 1–100. Default 80.</summary>
    [Range(1, 100)]
    public int SnapshotQuality { get; init; } = 80;

    /// <summary>
    /// Widest snapshot; wider frames are scaled down (a JPEG to the largest n/8 decode scale that fits, so a 1080p
    /// frame becomes 480×270, the size of Frigate's MQTT snapshots). Drawing cost grows with it (figures in
    /// bench/README.md, "Snapshots"). 0 keeps the frame's size. Default 640.
    /// </summary>
    [Range(0, 16384)]
    public int SnapshotMaxWidth { get; init; } = 640;

    /// <summary>
    /// Writable folder for over-the-air models: downloaded model files (<c>models/</c>) and <c>model-state.json</c>,
    /// the last model that passed, which a restarted detector starts with instead of <see cref="ModelPath"/>. Setting
    /// it turns the rollout on (the detector follows <c>{prefix}/control/detector/model</c>). Default none: off.
    /// </summary>
    public string? DataPath { get; init; }

    /// <summary>Gate and probation of rolled-out models: section <c>Detector:Rollout</c>.</summary>
    public RolloutOptions Rollout { get; init; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!CameraPartition.TryParse(Partition, out _))
            yield return new ValidationResult(CameraPartition.FormatError(Partition), [nameof(Partition)]);
        // Data annotations do not descend into the provider sections by themselves.
        var sections = new (string, object)[]
        {
            (nameof(TensorRt), TensorRt), (nameof(Cuda), Cuda), (nameof(Rollout), Rollout),
        };
        foreach (var (name, section) in sections)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true);
            foreach (var result in results)
            {
                yield return new ValidationResult(result.ErrorMessage,
                    result.MemberNames.Select(member => $"{name}:{member}").ToArray());
            }
        }
    }
}
