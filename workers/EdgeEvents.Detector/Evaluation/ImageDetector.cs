using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Detector.Postprocessing;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector.Evaluation;

/// <summary>
/// One model's whole detection path (preprocess, run, postprocess) on one frame at a time, outside the worker's
/// pipeline: what <c>eval</c> compares two models with. Not thread-safe.
/// </summary>
public sealed class ImageDetector : IDisposable
{
    private readonly DetectorModel _model;
    private readonly FramePreprocessor _preprocessor;
    private readonly DetectionPostprocessor _postprocessor;
    private readonly float[] _input;

    private ImageDetector(DetectorModel model, DetectorOptions options)
    {
        _model = model;
        _preprocessor = new FramePreprocessor(model.Input, options.MaxImagePixels, options.Preprocess);
        _postprocessor = new DetectionPostprocessor(model.CreateDecoder(), model.Labels, options.Confidence, options.Iou, options.MaxDetections);
        _input = new float[model.Input.TensorLength];
    }

    public DetectorModel Model => _model;

    /// <summary>Loads <see cref="DetectorOptions.ModelPath"/> as the worker would.</summary>
    public static ImageDetector Load(DetectorOptions options, ILogger logger)
    {
        var model = DetectorModel.Load(options, logger);
        try
        {
            return new ImageDetector(model, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The detections of <paramref name="frame"/> and the milliseconds the whole path took.</summary>
    /// <exception cref="FrameDecodeException">The frame cannot be decoded.</exception>
    /// <exception cref="InvalidDataException">The model's output held no finite score.</exception>
    public (Detection[] Detections, double Milliseconds) Detect(Frame frame)
    {
        var start = Stopwatch.GetTimestamp();
        var box = _preprocessor.Prepare(frame, _input, out _);
        using var outputs = _model.Run(_input, 1);
        var detections = _postprocessor.Process(outputs[0].GetTensorDataAsSpan<float>(), box)
            ?? throw new InvalidDataException($"Model {_model.ModelId} gave no finite score for a frame of camera {frame.Camera}.");
        return (detections, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    public void Dispose() => _model.Dispose();
}
