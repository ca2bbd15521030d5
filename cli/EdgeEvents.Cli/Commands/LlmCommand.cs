using System.CommandLine;
using System.Globalization;
using EdgeEvents.Llm;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events llm</c>: runs the LLM worker (answers questions on <c>{prefix}/questions/#</c>).</summary>
public static class LlmCommand
{
    public static Command Create()
    {
        var options = new List<ConfigOption>
        {
            new(new Option<FileInfo>("--model") { Description = "GGUF model file (required)" }, "Llm:ModelPath"),
            new(new Option<string>("--model-id") { Description = "Model name reported in answers [default: the file name]" }, "Llm:ModelId"),
            new(new Option<int>("--context") { Description = "Context tokens per question (prompt + answer) [default: the model's training context, at most 4096]" }, "Llm:ContextSize"),
            new(new Option<int>("--threads") { Description = "CPU threads for decoding [default: chosen by llama.cpp]" }, "Llm:Threads"),
            new(new Option<int>("--gpu-layers") { Description = "Layers offloaded to the GPU; needs a build with -p:LlamaBackend=Cuda12 [default: 0]" }, "Llm:GpuLayerCount"),
            new(new Option<int>("--parallel") { Description = "Questions decoded together [default: 4]" }, "Llm:Parallelism"),
            new(new Option<int>("--max-tokens") { Description = "Most tokens per answer [default: 128]" }, "Llm:MaxTokens"),
            new(Duration("--timeout", "Generation budget per question, e.g. 30s, 1500ms [default: 30s]"), "Llm:QuestionTimeout"),
            new(new Option<float>("--temperature") { Description = "Sampling temperature; 0 always picks the likeliest token [default: 0.7]" }, "Llm:Temperature"),
            new(new Option<uint>("--seed") { Description = "Sampling seed; same seed and prompt give the same answer [default: 42]" }, "Llm:Seed"),
            new(new Option<string>("--system-prompt") { Description = "System prompt [default: a grounded, injection-aware camera assistant prompt]" }, "Llm:SystemPrompt"),
            new(new Option<int>("--queue") { Description = "Questions waiting for a slot, all askers together [default: 64]" }, "Llm:QueueCapacity"),
            new(new Option<bool>("--fleet") { Description = "At a hub: answer from every site's scene (sites/+/{prefix}/scene/+), naming each fact's site [default: false]" }, "Llm:Fleet"),
            new(Duration("--partial-interval", "Stream partial text on {reply topic}/partial at this interval, e.g. 250ms [default: off]"), "Llm:PartialInterval"),
        };
        return HostedCommand.Create("llm", "Answer questions about the scene with a GGUF model (LLamaSharp).", options,
            builder => builder.Services.AddLlmWorker(builder.Configuration));
    }

    /// <summary>A duration option that reads <c>30</c> or <c>30s</c> as seconds, <c>500ms</c>, <c>2m</c>, or <c>00:00:30</c>.</summary>
    public static Option<TimeSpan> Duration(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Single().Value.Trim();
            if (TryParseDuration(text, out var value)) return value;
            result.AddError($"'{text}' is not a duration; use e.g. 30, 30s, 500ms, 2m or 00:00:30.");
            return default;
        },
    };

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        var (number, unit) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text, 1.0);
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount >= 0)
        {
            value = TimeSpan.FromSeconds(amount * unit);
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
