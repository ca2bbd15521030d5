using System.CommandLine;
using EdgeEvents.Llm;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events llm</c>: runs the LLM worker (answers questions on <c>{prefix}/questions/#</c>).</summary>
public static class LlmCommand
{
    public static Command Create()
    {
        var defaults = new LlmOptions();
        var options = new List<ConfigOption>
        {
            new(new Option<FileInfo>("--model") { Description = "GGUF model file [required]" }, "Llm:ModelPath"),
            new(new Option<string>("--model-id")
            {
                Description = "Model name reported in answers [default: the file name]",
            }, "Llm:ModelId"),
            new(new Option<int>("--context")
            {
                Description = "Context tokens per question (prompt + answer) " +
                    "[default: the model's training context, at most 4096]",
            }, "Llm:ContextSize"),
            new(new Option<int>("--threads")
            {
                Description = "CPU threads for decoding [default: chosen by llama.cpp]",
            }, "Llm:Threads"),
            new(new Option<int>("--gpu-layers")
            {
                Description = "Layers offloaded to the GPU; needs a build with -p:LlamaBackend=Cuda12" +
                    HelpDefault.Of(defaults.GpuLayerCount),
            }, "Llm:GpuLayerCount"),
            new(new Option<int>("--parallel")
            {
                Description = "Questions decoded together" + HelpDefault.Of(defaults.Parallelism),
            }, "Llm:Parallelism"),
            new(new Option<int>("--max-tokens")
            {
                Description = "Most tokens per answer" + HelpDefault.Of(defaults.MaxTokens),
            }, "Llm:MaxTokens"),
            new(DurationOption.Create("--timeout",
                "Generation budget per question, e.g. 30s, 1500ms" + HelpDefault.Of(defaults.QuestionTimeout)),
                "Llm:QuestionTimeout"),
            new(new Option<float>("--temperature")
            {
                Description = "Sampling temperature; 0 always picks the likeliest token" +
                    HelpDefault.Of(defaults.Temperature),
            }, "Llm:Temperature"),
            new(new Option<uint>("--seed")
            {
                Description = "Sampling seed; same seed and prompt give the same answer" +
                    HelpDefault.Of(defaults.Seed),
            }, "Llm:Seed"),
            new(new Option<string>("--system-prompt")
            {
                Description = "System prompt [default: a grounded, injection-aware camera assistant prompt]",
            }, "Llm:SystemPrompt"),
            new(new Option<int>("--queue")
            {
                Description = "Questions waiting for a slot, all askers together" +
                    HelpDefault.Of(defaults.QueueCapacity),
            }, "Llm:QueueCapacity"),
            new(new Option<bool>("--fleet")
            {
                Description = "At a hub: answer from every site's scene (sites/+/{prefix}/scene/+), " +
                    "naming each fact's site" + HelpDefault.Of(defaults.Fleet),
            }, "Llm:Fleet"),
            new(DurationOption.Create("--partial-interval",
                "Stream partial text on {reply topic}/partial at this interval, e.g. 250ms [default: off]"),
                "Llm:PartialInterval"),
        };
        return HostedCommand.Create("llm", "Answer questions about the scene with a GGUF model (LLamaSharp).", options,
            builder => builder.Services.AddLlmWorker(builder.Configuration));
    }
}
