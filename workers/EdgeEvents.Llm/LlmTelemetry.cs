using System.Diagnostics.Metrics;
using EdgeEvents.Llm.Generation;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;

namespace EdgeEvents.Llm;

/// <summary>
/// The LLM worker's own instruments on the shared <c>EdgeEvents</c> meter. Tokens and time to first token are recorded
/// through <see cref="EdgeTelemetry.Generation"/> (<c>edge.llm.tokens</c>, <c>edge.llm.time_to_first_token</c>).
/// </summary>
internal static class LlmTelemetry
{
    private static readonly Counter<long> Answers = EdgeTelemetry.Meter.CreateCounter<long>(
        "edge.llm.answers", unit: "{answer}", description: "Generations finished, by status (ok, timeout, error).");

    private static readonly Histogram<double> GenerationTime = EdgeTelemetry.Meter.CreateHistogram<double>(
        "edge.llm.generation.duration", unit: "ms",
        description: "From handing a question to the generator to its last token.");

    public static void Record(GenerationResult result)
    {
        var status = new KeyValuePair<string, object?>("status", result.Status);
        Answers.Add(1, status);
        GenerationTime.Record(result.Total.TotalMilliseconds, status);
    }
}
