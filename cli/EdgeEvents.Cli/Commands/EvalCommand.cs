using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeEvents.Detector;
using EdgeEvents.Detector.Evaluation;
using EdgeEvents.Detector.Imaging;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events eval --model candidate.onnx --reference reference.onnx --images DIR [--min-agreement 0.95]
/// [--json]</c>:
/// runs both models on every image and prints how far the candidate agrees with the reference (per class and overall:
/// precision, recall, mean IoU of matches, mean confidence shift) and both models' time per image. Exit code 0 when the
/// overall agreement (F1) reaches the threshold, 1 below it, 2 on bad arguments or unreadable input.
/// </summary>
public static class EvalCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model")
        {
            Description = "Candidate ONNX model [required]", Required = true,
        };
        var reference = new Option<FileInfo>("--reference")
        {
            Description = "Reference ONNX model the candidate must agree with [required]", Required = true,
        };
        var images = new Option<DirectoryInfo>("--images")
        {
            Description = "Folder of .jpg/.png images [required]", Required = true,
        };
        var minAgreement = new Option<double>("--min-agreement")
        {
            Description = "Lowest overall agreement (F1 of precision and recall) that passes [default: 0.95]",
            DefaultValueFactory = _ => 0.95,
        };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON object" };
        var preprocess = new Option<PreprocessMode>("--preprocess")
        {
            Description = "Candidate's preprocessing: Reference or Fast [default: Reference]",
        };
        var providers = new Option<string>("--providers")
        {
            Description = "Execution providers for both models [default: CPU]", DefaultValueFactory = _ => "CPU",
        };
        var confidence = new Option<float>("--confidence")
        {
            Description = "Minimum detection score for both models [default: 0.25]", DefaultValueFactory = _ => 0.25f,
        };

        var command = new Command("eval",
            "Check a candidate model against a reference model on a folder of images (accuracy gate).");
        Option[] allOptions = [model, reference, images, minAgreement, json, preprocess, providers, confidence];
        foreach (var option in allOptions)
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            using var loggers = CliLogging.Create(LogLevel.Warning);
            var logger = loggers.CreateLogger("EdgeEvents.eval");
            var threshold = parse.GetValue(minAgreement);
            if (threshold is < 0 or > 1)
            {
                logger.LogError("--min-agreement must be between 0 and 1, not {Value}", threshold);
                return 2;
            }
            var common = new DetectorOptions
            {
                Providers = parse.GetValue(providers)!, Confidence = parse.GetValue(confidence), WarmupRuns = 1,
            };
            AgreementReport report;
            try
            {
                var frames = EvaluationImages.Load(parse.GetValue(images)!.FullName);
                var candidateOptions = common with
                {
                    ModelPath = parse.GetValue(model)!.FullName,
                    Preprocess = parse.GetValue(preprocess),
                };
                using var candidateDetector = ImageDetector.Load(candidateOptions, logger);
                var referenceOptions = common with { ModelPath = parse.GetValue(reference)!.FullName };
                using var referenceDetector = ImageDetector.Load(referenceOptions, logger);
                var evaluator = new ModelEvaluator(candidateDetector, referenceDetector);
                foreach (var (_, frame) in frames) evaluator.Add(frame);
                report = evaluator.Report();
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or FrameDecodeException
                or InvalidOperationException
                or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                logger.LogError("eval failed: {Reason}", ex.Message);
                return 2;
            }
            var passed = report.Agreement >= threshold;
            Console.WriteLine(parse.GetValue(json)
                ? JsonSerializer.Serialize(new
                {
                    report.Candidate, report.Reference, report.Images, report.Agreement, MinAgreement = threshold,
                    Passed = passed,
                    report.CandidateMsPerImage, report.ReferenceMsPerImage, Overall = Row(report.Overall),
                    Classes = report.Classes.Select(Row),
                }, Json)
                : Text(report, threshold, passed));
            return passed ? 0 : 1;
        });
        return command;
    }

    private static object Row(ClassAgreement c) => new
    {
        c.Label, c.ReferenceDetections, c.CandidateDetections, c.Matched, c.Precision, c.Recall, c.F1, c.MeanIoU,
        c.MeanConfidenceShift,
    };

    private static string Text(AgreementReport report, double threshold, bool passed)
    {
        var lines = new List<string>
        {
            $"candidate {report.Candidate} vs reference {report.Reference}, {report.Images} image(s); " +
            "IoU >= 0.5, same class",
            "| class | reference | candidate | matched | precision | recall | mean IoU | confidence shift |",
            "|---|---|---|---|---|---|---|---|",
        };
        foreach (var c in report.Classes.Append(report.Overall))
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {c.Label} | {c.ReferenceDetections} | {c.CandidateDetections} | {c.Matched} | " +
                $"{c.Precision:F3} | {c.Recall:F3} | " +
                $"{c.MeanIoU:F3} | {c.MeanConfidenceShift:+0.000;-0.000;0.000} |"));
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"time per image: candidate {report.CandidateMsPerImage:F1} ms, " +
            $"reference {report.ReferenceMsPerImage:F1} ms"));
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"agreement {report.Agreement:F3} {(passed ? ">=" : "<")} {threshold:F3}: {(passed ? "PASS" : "FAIL")}"));
        return string.Join('\n', lines);
    }
}
