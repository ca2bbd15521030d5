namespace EdgeEvents.Detector.Evaluation;

/// <summary>How far a candidate model's detections agree with a reference model's, over some images.</summary>
/// <param name="Overall">All classes together.</param>
/// <param name="Classes">Per class label (classes neither model found are left out), by label.</param>
public sealed record AgreementReport(
    string Candidate, string Reference, int Images, ClassAgreement Overall, IReadOnlyList<ClassAgreement> Classes,
    double CandidateMsPerImage, double ReferenceMsPerImage)
{
    /// <summary>The overall agreement the threshold is checked against: <see cref="ClassAgreement.F1"/>.</summary>
    public double Agreement => Overall.F1;
}

/// <summary>
/// Agreement for one class (or all): precision is the share of candidate detections that match a reference one, recall
/// the share of reference detections matched; both 1 when neither model found anything.
/// </summary>
public sealed record ClassAgreement(
    string Label,
    int ReferenceDetections,
    int CandidateDetections,
    int Matched,
    double MeanIoU,
    double MeanConfidenceShift)
{
    public double Precision =>
        CandidateDetections == 0 ? (ReferenceDetections == 0 ? 1 : 0) : (double)Matched / CandidateDetections;
    public double Recall =>
        ReferenceDetections == 0 ? (CandidateDetections == 0 ? 1 : 0) : (double)Matched / ReferenceDetections;
    /// <summary>
    /// Harmonic mean of precision and recall: 1 only when every detection of each model has its match.
    /// </summary>
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}
