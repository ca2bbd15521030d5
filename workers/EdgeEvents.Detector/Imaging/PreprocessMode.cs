namespace EdgeEvents.Detector.Imaging;

/// <summary>How frames become model inputs (<c>Detector:Preprocess</c>).</summary>
public enum PreprocessMode
{
    /// <summary>
    /// What Ultralytics (which exported and validated the models) does: the JPEG decoded at full scale with
    /// libjpeg-turbo's defaults (OpenCV's <c>imread</c>), then OpenCV's <c>resize</c> with <c>INTER_LINEAR</c>
    /// (<see cref="LinearResampler"/>), padded with 114. Scores match <c>yolo predict</c>.
    /// </summary>
    Reference,
    /// <summary>
    /// Cheaper: large JPEGs decoded at a reduced DCT scale and an antialiased bicubic resample
    /// (<see cref="BicubicResampler"/>). Boxes stay within a few pixels; scores of borderline classes move (compare
    /// with <c>edge-events eval</c>).
    /// </summary>
    Fast,
}
