using System.Diagnostics.Metrics;
using EdgeEvents.Llm.Generation;
using EdgeEvents.Pipeline.Hosting;

namespace EdgeEvents.Llm;

/// <summary>The LLM worker's instruments on the shared <c>EdgeEvents</c> meter.</summary>
internal static class LlmTelemetry
{
    private static readonly Counter<long> Answers = EdgeTelemetry.Meter.CreateCounter<long>(
        "edge.llm.answers", unit: "{answer}", description: "Generations finished, by status (ok, timeout, error).");

    private static readonly Counter<long> Tokens = EdgeTelemetry.Meter.CreateCounter<long>(
        "edge.llm.tokens", unit: "{token}", description: "Prompt and completion tokens, by kind.");

    private static readonly Histogram<double> TimeToFirstToken = EdgeTelemetry.Meter.CreateHistogram<double>(
        "edge.llm.time_to_first_token", unit: "ms", description: "From handing a question to the generator to its first token.");

    private static readonly Histogram<double> GenerationTime = EdgeTelemetry.Meter.CreateHistogram<double>(
        "edge.llm.generation.duration", unit: "ms", description: "From handing a question to the generator to its last token.");

    public static void Record(GenerationResult result)
    {
        var status = new KeyValuePair<string, object?>("status", result.Status);
        Answers.Add(1, status);
        Tokens.Add(result.PromptTokens, new KeyValuePair<string, object?>("kind", "prompt"));
        Tokens.Add(result.CompletionTokens, new KeyValuePair<string, object?>("kind", "completion"));
        if (result.CompletionTokens > 0) TimeToFirstToken.Record(result.TimeToFirstToken.TotalMilliseconds);
        GenerationTime.Record(result.Total.TotalMilliseconds, status);
    }
}
