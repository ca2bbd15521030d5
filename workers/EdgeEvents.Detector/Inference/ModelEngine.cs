using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Postprocessing;

namespace EdgeEvents.Detector.Inference;

/// <summary>
/// A loaded model with the preprocessing and postprocessing made for it: what a pipeline switches between when a new
/// model is rolled out. The preprocessor belongs to one preparing thread, the postprocessor to one inference thread.
/// Counts the frames it processed and the frames it failed on, and the time its model runs took (a probation window
/// judges a new model by them), and the batches in flight on it, so a replaced engine is disposed only once its last
/// batch ran.
/// </summary>
public sealed class ModelEngine : IDisposable
{
    private int _inFlight;
    private long _processed;
    private long _failed;
    private long _framesRun;
    private long _runTicks;

    public ModelEngine(DetectorModel model, DetectorOptions options)
    {
        Model = model;
        Preprocessor = new FramePreprocessor(model.Input, options.MaxImagePixels, options.Preprocess);
        Postprocessor = new DetectionPostprocessor(model.CreateDecoder(), model.Labels,
            options.Confidence, options.Iou, options.MaxDetections);
    }

    public DetectorModel Model { get; }
    public FramePreprocessor Preprocessor { get; }
    public DetectionPostprocessor Postprocessor { get; }

    /// <summary>Frames this engine produced detections for.</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Frames this engine failed on: the run threw, or the output held no usable values.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>
    /// Frames given to the model and the time its runs took (<see cref="DetectorModel.Run"/> only, not waiting for
    /// frames): frames over time is how fast the model is on the load it had, whatever the cameras' rate.
    /// </summary>
    public (long Frames, TimeSpan RunTime) Runs =>
        (Interlocked.Read(ref _framesRun), TimeSpan.FromTicks(Interlocked.Read(ref _runTicks)));

    internal void RecordRun(int frames, TimeSpan elapsed)
    {
        Interlocked.Add(ref _framesRun, frames);
        Interlocked.Add(ref _runTicks, elapsed.Ticks);
    }

    internal void RecordProcessed() => Interlocked.Increment(ref _processed);
    internal void RecordFailed(int frames) => Interlocked.Add(ref _failed, frames);

    internal void EnterBatch() => Interlocked.Increment(ref _inFlight);
    internal void ExitBatch() => Interlocked.Decrement(ref _inFlight);

    /// <summary>
    /// Disposes the engine once no batch prepared for it is still running; call it after the engine was replaced.
    /// </summary>
    public async Task DisposeWhenIdleAsync()
    {
        while (Volatile.Read(ref _inFlight) > 0) await Task.Delay(10);
        Dispose();
    }

    public void Dispose() => Model.Dispose();
}
