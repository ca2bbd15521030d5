namespace EdgeEvents.Detector.Imaging;

/// <summary>Time spent turning one frame into a tensor.</summary>
public readonly record struct PreprocessTimings(double DecodeMs, double LetterboxMs);
