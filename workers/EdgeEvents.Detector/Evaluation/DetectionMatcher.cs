using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Evaluation;

/// <summary>A candidate detection matched to a reference one: same class, IoU at least the threshold.</summary>
public readonly record struct DetectionMatch(Detection Candidate, Detection Reference, float IoU);

/// <summary>
/// Matches one image's candidate detections to its reference detections greedily, as detection metrics do: candidates
/// in order of confidence, each to the unmatched reference of its class with the highest IoU at or above the threshold.
/// </summary>
public static class DetectionMatcher
{
    public const float DefaultIoU = 0.5f;

    public static List<DetectionMatch> Match(
        IReadOnlyList<Detection> candidate, IReadOnlyList<Detection> reference, float minIoU = DefaultIoU)
    {
        var matches = new List<DetectionMatch>();
        var taken = new bool[reference.Count];
        foreach (var c in candidate.OrderByDescending(d => d.Confidence))
        {
            var (best, bestIoU) = (-1, minIoU);
            for (var i = 0; i < reference.Count; i++)
            {
                if (taken[i] || reference[i].ClassId != c.ClassId) continue;
                var iou = c.Box.IoU(reference[i].Box);
                if (iou >= bestIoU) (best, bestIoU) = (i, iou);
            }
            if (best < 0) continue;
            taken[best] = true;
            matches.Add(new DetectionMatch(c, reference[best], bestIoU));
        }
        return matches;
    }
}
