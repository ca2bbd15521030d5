using System.CommandLine;
using EdgeEvents.Detector;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events detector</c>: run the YOLO detector on frames from the broker.</summary>
public static class DetectorCommand
{
    public static Command Create()
    {
        var defaults = new DetectorOptions();
        var model = new Option<FileInfo>("--model")
        {
            Description = "ONNX model file (YOLOv8/YOLO11 or YOLOX) [required]",
        };
        var modelType = new Option<ModelType>("--model-type")
        {
            Description = "Output layout: Auto (detected from the model), YoloV8 or YoloX" +
                HelpDefault.Of(defaults.ModelType),
        };
        var labels = new Option<FileInfo>("--labels")
        {
            Description = "Class names, one per line, for models without names metadata [default: COCO-80]",
        };
        var providers = new Option<string>("--providers")
        {
            Description = "Execution providers to try in order, comma-separated" + HelpDefault.Of(defaults.Providers),
        };
        var preprocess = new Option<Detector.Imaging.PreprocessMode>("--preprocess")
        {
            Description = "Reference (OpenCV's full-scale decode and linear resize, as Ultralytics) or Fast " +
                "(reduced-scale decode, antialiased bicubic)" + HelpDefault.Of(defaults.Preprocess),
        };
        var threads = new Option<int>("--threads")
        {
            Description = "ONNX Runtime intra-op threads per session; 0 = one per core" +
                HelpDefault.Of(defaults.IntraOpThreads),
        };
        var spinning = new Option<bool>("--spinning")
        {
            Description = "Let ONNX Runtime threads spin between operators (dedicated CPU only)" +
                HelpDefault.Of(defaults.IntraOpSpinning),
        };
        var sessions = new Option<int>("--sessions")
        {
            Description = "Inference sessions in this process" + HelpDefault.Of(defaults.Sessions),
        };
        var inferenceNice = new Option<int>("--inference-nice")
        {
            Description = "Linux nice value for the inference threads, e.g. -10 to run the model ahead of decoding " +
                "and I/O (negative needs CAP_SYS_NICE)" + HelpDefault.Of(defaults.InferenceNice),
        };
        var confidence = new Option<float>("--confidence")
        {
            Description = "Minimum detection score" + HelpDefault.Of(defaults.Confidence),
        };
        var iou = new Option<float>("--iou")
        {
            Description = "Class-wise NMS IoU threshold" + HelpDefault.Of(defaults.Iou),
        };
        var maxBatch = new Option<int>("--max-batch")
        {
            Description = "Frames per batch when the model's batch dimension is dynamic" +
                HelpDefault.Of(defaults.MaxBatch),
        };
        var group = new Option<string>("--group")
        {
            Description = "Shared-subscription group to split frames between detectors, e.g. detectors [default: none]",
        };
        var partition = new Option<string>("--partition")
        {
            Description = "i/n: process only the cameras whose stable hash falls in partition i of n, so n detectors " +
                "split the cameras and each camera's detections stay in order" + HelpDefault.Of(defaults.Partition),
        };
        var maxAge = DurationOption.Create("--max-frame-age",
            "Drop frames that waited longer than this" + HelpDefault.Of(defaults.MaxFrameAge));
        var data = Data();
        var snapshots = new Option<double>("--snapshots")
        {
            Description = "Annotated JPEG snapshots per second per camera, retained on {prefix}/snapshots/{camera}; " +
                "0 = off" + HelpDefault.Of(defaults.SnapshotsPerSecond),
        };
        return HostedCommand.Create("detector",
            "Detect objects in frames from {prefix}/frames/+ and publish them on {prefix}/detections/{camera}.",
            [
                new(model, "Detector:ModelPath"), new(modelType, "Detector:ModelType"),
                new(labels, "Detector:LabelsPath"),
                new(providers, "Detector:Providers"), new(preprocess, "Detector:Preprocess"),
                new(threads, "Detector:IntraOpThreads"), new(spinning, "Detector:IntraOpSpinning"),
                new(sessions, "Detector:Sessions"), new(inferenceNice, "Detector:InferenceNice"),
                new(confidence, "Detector:Confidence"), new(iou, "Detector:Iou"), new(maxBatch, "Detector:MaxBatch"),
                new(group, "Detector:Group"), new(partition, "Detector:Partition"), new(maxAge, "Detector:MaxFrameAge"),
                new(snapshots, "Detector:SnapshotsPerSecond"),
                new(data, "Detector:DataPath"),
            ],
            builder => builder.Services.AddDetectorWorker(builder.Configuration));
    }

    /// <summary><c>--data</c> (<c>Detector:DataPath</c>), shared with <c>demo</c>.</summary>
    internal static Option<DirectoryInfo> Data() => new("--data")
    {
        Description = "Writable folder for over-the-air models: downloaded model files and model-state.json " +
                      "(the last model that passed, started with after a restart); turns the rollout on " +
                      "({prefix}/control/detector/model) " +
                      "[default: none, rollout off]",
    };
}
