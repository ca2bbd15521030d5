using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Inference;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector.Evaluation;

/// <summary>
/// One model's whole detection path (preprocess, run, postprocess) on one frame at a time, outside the worker's
/// pipeline: what <c>eval</c> compares two models with. Not thread-safe.
/// </summary>
public sealed class ImageDetector : IDisposable
{
    private readonly ModelEngine _engine;
    private readonly float[] _input;

    private ImageDetector(DetectorModel model, DetectorOptions options)
    {
        _engine = new ModelEngine(model, options);
        _input = new float[model.Input.TensorLength];
    }

    public DetectorModel Model => _engine.Model;

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
        var box = _engine.Preprocessor.Prepare(frame, _input, out _);
        using var outputs = Model.Run(_input, 1);
        var detections = _engine.Postprocessor.Process(outputs[0].GetTensorDataAsSpan<float>(), box)
            ?? throw new InvalidDataException(
                $"Model {Model.ModelId} gave no finite score for a frame of camera {frame.Camera}.");
        return (detections, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    public void Dispose() => _engine.Dispose();
}
