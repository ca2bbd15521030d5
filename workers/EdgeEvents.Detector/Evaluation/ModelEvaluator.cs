using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Evaluation;

/// <summary>
/// Runs a candidate and a reference detector on the same frames and adds up how far they agree
/// (<see cref="DetectionMatcher"/>): per class and overall matches, IoU of matches, confidence shift (candidate minus
/// reference), and each model's time per frame. The two models take turns at running first on a frame, so neither
/// always runs on the caches the other left behind, and each frame's pair of times is kept (<see cref="Slowdowns"/>).
/// </summary>
public sealed class ModelEvaluator(
    ImageDetector candidate, ImageDetector reference, float minIoU = DetectionMatcher.DefaultIoU)
{
    private readonly Dictionary<string, Tally> _classes = new(StringComparer.Ordinal);
    private readonly Tally _overall = new();
    private readonly List<double> _slowdowns = [];
    private double _candidateMs, _referenceMs;
    private int _images;

    /// <summary>Both models on <paramref name="frame"/>; returns the two detection lists.</summary>
    public (Detection[] Candidate, Detection[] Reference) Add(Frame frame)
    {
        (Detection[] Detections, double Milliseconds) fromCandidate, fromReference;
        if (_images % 2 == 0)
        {
            fromCandidate = candidate.Detect(frame);
            fromReference = reference.Detect(frame);
        }
        else
        {
            fromReference = reference.Detect(frame);
            fromCandidate = candidate.Detect(frame);
        }
        Add(fromCandidate.Detections, fromReference.Detections);
        _candidateMs += fromCandidate.Milliseconds;
        _referenceMs += fromReference.Milliseconds;
        _slowdowns.Add(fromCandidate.Milliseconds / fromReference.Milliseconds);
        _images++;
        return (fromCandidate.Detections, fromReference.Detections);
    }

    /// <summary>
    /// Per frame added with <see cref="Add(Frame)"/>: the candidate's time divided by the reference's, both measured
    /// back to back on that frame, so a load change on the machine between frames cancels out.
    /// </summary>
    public IReadOnlyList<double> Slowdowns => _slowdowns;

    /// <summary>Adds one image's detections of both models (already computed).</summary>
    public void Add(IReadOnlyList<Detection> fromCandidate, IReadOnlyList<Detection> fromReference)
    {
        foreach (var d in fromCandidate) ClassTally(d.Label).Candidates++;
        foreach (var d in fromReference) ClassTally(d.Label).References++;
        _overall.Candidates += fromCandidate.Count;
        _overall.References += fromReference.Count;
        foreach (var match in DetectionMatcher.Match(fromCandidate, fromReference, minIoU))
        {
            ClassTally(match.Reference.Label).Add(match);
            _overall.Add(match);
        }
    }

    public AgreementReport Report() => new(
        candidate.Model.ModelId, reference.Model.ModelId, _images, _overall.ToAgreement("all"),
        _classes.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value.ToAgreement(c.Key)).ToList(),
        _images == 0 ? 0 : _candidateMs / _images, _images == 0 ? 0 : _referenceMs / _images);

    private Tally ClassTally(string label) =>
        _classes.TryGetValue(label, out var tally) ? tally : _classes[label] = new Tally();

    private sealed class Tally
    {
        public int References, Candidates, Matched;
        private double _iou, _shift;

        public void Add(DetectionMatch match)
        {
            Matched++;
            _iou += match.IoU;
            _shift += match.Candidate.Confidence - match.Reference.Confidence;
        }

        public ClassAgreement ToAgreement(string label) =>
            new(label, References, Candidates, Matched,
                Matched == 0 ? 0 : _iou / Matched, Matched == 0 ? 0 : _shift / Matched);
    }
}
