namespace EdgeEvents.Detector.Postprocessing;

/// <summary>
/// One scored box in model-input pixels (x1, y1, x2, y2); <see cref="Index"/> is its anchor, for stable ordering.
/// </summary>
public readonly record struct Candidate(float X1, float Y1, float X2, float Y2, float Score, int ClassId, int Index)
{
    public float Area => Math.Max(0, X2 - X1) * Math.Max(0, Y2 - Y1);

    /// <summary>Intersection over union as torchvision computes it; 0 when the union is empty.</summary>
    public float IoU(in Candidate other)
    {
        var iw = Math.Min(X2, other.X2) - Math.Max(X1, other.X1);
        var ih = Math.Min(Y2, other.Y2) - Math.Max(Y1, other.Y1);
        if (iw <= 0 || ih <= 0) return 0;
        var inter = iw * ih;
        var union = Area + other.Area - inter;
        return union <= 0 ? 0 : inter / union;
    }
}
