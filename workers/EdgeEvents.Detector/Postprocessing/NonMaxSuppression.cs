namespace EdgeEvents.Detector.Postprocessing;

/// <summary>
/// Greedy class-wise non-maximum suppression, as Ultralytics' <c>non_max_suppression</c> (torchvision
/// <c>batched_nms</c>).
/// </summary>
public static class NonMaxSuppression
{
    private static readonly Comparison<Candidate> ByScoreThenIndex = static (a, b) =>
    {
        var byScore = b.Score.CompareTo(a.Score);
        return byScore != 0 ? byScore : a.Index.CompareTo(b.Index);
    };

    /// <summary>
    /// Sorts <paramref name="candidates"/> by score (highest first, ties by anchor index) and appends to
    /// <paramref name="kept"/> each box whose IoU with every already-kept box of the same class is at most
    /// <paramref name="iouThreshold"/>, up to <paramref name="maxDetections"/>. Boxes of different classes never
    /// suppress each other.
    /// </summary>
    public static void Apply(List<Candidate> candidates, float iouThreshold, int maxDetections, List<Candidate> kept)
    {
        kept.Clear();
        candidates.Sort(ByScoreThenIndex);
        foreach (var candidate in candidates)
        {
            if (kept.Count >= maxDetections) break;
            var suppressed = false;
            foreach (var k in kept)
            {
                if (k.ClassId == candidate.ClassId && k.IoU(candidate) > iouThreshold)
                {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) kept.Add(candidate);
        }
    }
}
