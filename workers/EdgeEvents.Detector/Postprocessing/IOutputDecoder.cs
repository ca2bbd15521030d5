namespace EdgeEvents.Detector.Postprocessing;

/// <summary>
/// Turns one image's slice of a model output tensor into scored candidate boxes in model-input pixels.
/// </summary>
public interface IOutputDecoder
{
    int ClassCount { get; }

    /// <summary>Floats one image occupies in the output tensor.</summary>
    int ValuesPerImage { get; }

    /// <summary>
    /// Appends candidates scoring at least <paramref name="confidence"/> (best class per anchor) to
    /// <paramref name="candidates"/>. NaN and infinite scores or boxes are skipped. Returns false when the output held
    /// no finite score at all (a broken model or input).
    /// </summary>
    bool Decode(ReadOnlySpan<float> image, float confidence, List<Candidate> candidates);
}
