using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Llm.Generation;

/// <summary>One generation: the question's data (scene summary + question) for the user turn, and its budget.</summary>
public sealed record GenerationRequest(string UserData)
{
    /// <summary>Most tokens to generate.</summary>
    public int MaxTokens { get; init; } = 128;
    /// <summary>
    /// Time budget from the moment the request is handed to the generator; past it the result has status
    /// <c>timeout</c>.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// Called on the generation loop with the text so far, at most every <see cref="PartialInterval"/>.
    /// </summary>
    public Action<string>? Partial { get; init; }
    public TimeSpan PartialInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The outcome of one generation. <see cref="Status"/> is one of <see cref="AnswerStatus"/> (<c>ok</c>,
/// <c>timeout</c>, <c>error</c>); on timeout <see cref="Text"/> holds what was generated until then.
/// Times are measured from the moment the request was handed to <see cref="LlamaGenerator.GenerateAsync"/>.
/// </summary>
public sealed record GenerationResult(string Text, string Status, string? Reason)
{
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public TimeSpan TimeToFirstToken { get; init; }
    public TimeSpan Total { get; init; }
}

/// <summary>
/// One GGUF model, loaded once, decoding up to <see cref="LlmOptions.Parallelism"/> questions together with
/// LLamaSharp's <see cref="BatchedExecutor"/> (one <see cref="Conversation"/> per question, one KV-cache sequence
/// each). A single loop owns the executor: each step runs one batched decode for every active conversation, samples one
/// token for each, retires finished ones and admits waiting ones, so a new question joins the running batch without
/// waiting for the others to finish.
/// </summary>
public sealed class LlamaGenerator : IAsyncDisposable
{
    private readonly LlmOptions _options;
    private readonly ILogger _logger;
    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;
    private readonly PromptFormat _format;
    private readonly Channel<Job> _jobs =
        Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    // Holds the shared prompt prefix in the KV cache; every question is a fork of it (the prefix cells are shared).
    private Conversation? _root;
    private readonly Task _loop;
    private BatchedExecutor _executor;

    private LlamaGenerator(LlmOptions options, int contextSize, LLamaWeights weights, ModelParams parameters,
        PromptFormat format, BatchedExecutor executor, Conversation? root, ILogger logger)
    {
        _options = options;
        ContextSize = contextSize;
        _logger = logger;
        _weights = weights;
        _parameters = parameters;
        _format = format;
        _executor = executor;
        _root = root;
        ModelId = options.ModelId ?? Path.GetFileNameWithoutExtension(options.ModelPath);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public string ModelId { get; }

    /// <summary>
    /// Tokens of context per question: <see cref="LlmOptions.ContextSize"/>, else the model's training context capped
    /// at <see cref="LlmOptions.DefaultContextCap"/>.
    /// </summary>
    public int ContextSize { get; }

    /// <summary><c>chat-template</c> when the model's own template is used, else <c>plain</c>.</summary>
    public string PromptLayout => _format.Name;

    /// <summary>Prompt tokens shared by every question and decoded once (system prompt and template opening).</summary>
    public int SharedPrefixTokens => _format.Prefix.Length;

    /// <summary>Bytes of the model weights in memory.</summary>
    public long ModelBytes => (long)_weights.SizeInBytes;

    /// <summary>Tokens the KV cache holds for all slots together (<see cref="ContextSize"/> × parallelism).</summary>
    public int KvCacheTokens => (int)(_parameters.ContextSize ?? 0);

    /// <summary>Loads the model and starts the decode loop.</summary>
    public static async Task<LlamaGenerator> LoadAsync(LlmOptions options, ILogger logger, CancellationToken ct)
    {
        if (!File.Exists(options.ModelPath))
            throw new FileNotFoundException($"Model file not found: {options.ModelPath}", options.ModelPath);
        RouteNativeLogs(logger);
        var parameters = new ModelParams(options.ModelPath)
        {
            // One sequence per slot plus the one holding the shared prefix.
            SeqMax = (uint)options.Parallelism + 1,
            GpuLayerCount = options.GpuLayerCount,
            Threads = options.Threads,
            BatchThreads = options.Threads,
        };
        var started = Stopwatch.GetTimestamp();
        var weights = await LLamaWeights.LoadFromFileAsync(parameters, ct);
        BatchedExecutor? executor = null;
        try
        {
            var contextSize = options.ContextSize ?? DefaultContextSize(weights.ContextSize);
            // One KV cache shared by all slots; each question may use contextSize tokens of it.
            parameters.ContextSize = (uint)(contextSize * options.Parallelism);
            var format = PromptFormat.Create(weights, options.SystemPrompt, logger);
            executor = new BatchedExecutor(weights, parameters);
            var root = await DecodePrefixAsync(executor, format, ct);
            var generator =
                new LlamaGenerator(options, contextSize, weights, parameters, format, executor, root, logger);
            var loadMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            logger.LogInformation(
                "Loaded {Model} ({Bytes} bytes, {Parameters} parameters) in {Ms:0} ms: " +
                "context {Context} × {Parallelism} (trained on {TrainContext}), {GpuLayers} GPU layers, " +
                "prompt layout {Layout}, shared prefix {Prefix} tokens",
                generator.ModelId, weights.SizeInBytes, weights.ParameterCount, loadMs,
                contextSize, options.Parallelism, weights.ContextSize, options.GpuLayerCount, format.Name,
                format.Prefix.Length);
            return generator;
        }
        catch
        {
            executor?.Dispose();
            weights.Dispose();
            throw;
        }
    }

    /// <summary>The model's training context, capped; the cap when the model does not state it.</summary>
    private static int DefaultContextSize(int trainContext) =>
        trainContext > 0 ? Math.Min(trainContext, LlmOptions.DefaultContextCap) : LlmOptions.DefaultContextCap;

    /// <summary>
    /// Decodes the prompt prefix shared by all questions (system prompt and template opening) once, into a conversation
    /// that stays: each question forks it, sharing its KV cells, and decodes only its own tokens.
    /// </summary>
    private static async Task<Conversation?> DecodePrefixAsync(
        BatchedExecutor executor, PromptFormat format, CancellationToken ct)
    {
        if (format.Prefix.IsEmpty) return null;
        var root = executor.Create();
        root.Prompt(format.Prefix);
        while (root.RequiresInference)
        {
            var result = await executor.Infer(ct);
            if (result != DecodeResult.Ok)
            {
                root.Dispose();
                throw new InvalidOperationException($"Decoding the system prompt failed: {result}");
            }
        }
        return root;
    }

    /// <summary>
    /// Prompt tokens for <paramref name="userData"/> (template + data), as the generator would decode them.
    /// </summary>
    public int CountPromptTokens(string userData) => _format.Tokenize(userData).Length;

    /// <summary>The prompt tokens themselves, for a benchmark's bare decode loop.</summary>
    internal LLamaToken[] PromptTokens(string userData) => _format.Tokenize(userData);

    /// <summary>The model's <c>llama.*</c> size metadata (layers, embedding, heads), for KV cache arithmetic.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _weights.Metadata;

    /// <summary>
    /// Queues one generation and waits for it. Cancelling <paramref name="ct"/> abandons it (the task is cancelled);
    /// disposing the generator cancels everything still running.
    /// </summary>
    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken ct)
    {
        var job = new Job(request, ct);
        await _jobs.Writer.WriteAsync(job, ct);
        await using var registration = ct.Register(() => job.Completion.TrySetCanceled(ct));
        return await job.Completion.Task;
    }

    private async Task LoopAsync()
    {
        var active = new List<Slot>();
        var stop = _stop.Token;
        try
        {
            while (true)
            {
                try
                {
                    if (!await StepAllAsync(active, stop)) return;
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    // Fail the questions in progress, not the generator: the next ones get a fresh context.
                    _logger.LogError(ex, "Generation step failed");
                    await ResetAsync(active, ex.Message, stop);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var slot in active) slot.Cancel();
            while (_jobs.Reader.TryRead(out var job)) job.Completion.TrySetCanceled(stop);
        }
    }

    /// <summary>
    /// Admits waiting jobs, runs one batched decode and samples every conversation; false once the generator is closed.
    /// </summary>
    private async Task<bool> StepAllAsync(List<Slot> active, CancellationToken stop)
    {
        while (active.Count < _options.Parallelism && _jobs.Reader.TryRead(out var job))
            if (Start(job) is { } slot) active.Add(slot);
        if (active.Count == 0) return await _jobs.Reader.WaitToReadAsync(stop);

        var decoded = await _executor.Infer(stop);
        if (decoded != DecodeResult.Ok)
        {
            await ResetAsync(active, $"decode failed: {decoded}", stop);
            return true;
        }
        for (var i = active.Count - 1; i >= 0; i--)
        {
            if (Step(active[i]) is { } result)
            {
                active[i].Finish(result);
                active.RemoveAt(i);
            }
        }
        return true;
    }

    private Slot? Start(Job job)
    {
        if (job.Cancellation.IsCancellationRequested)
        {
            job.Completion.TrySetCanceled(job.Cancellation);
            return null;
        }
        var tokens = _format.QuestionTokens(job.Request.UserData);
        var promptTokens = _format.Prefix.Length + tokens.Length;
        var room = ContextSize - promptTokens;
        if (room < 1)
        {
            job.Completion.TrySetResult(new GenerationResult("", AnswerStatus.Error,
                $"The prompt has {promptTokens} tokens; the context holds {ContextSize}.")
            { PromptTokens = promptTokens, Total = job.Elapsed });
            return null;
        }
        var conversation = _root is null ? _executor.Create() : _root.Fork();
        conversation.Prompt(tokens);
        var sampler = new DefaultSamplingPipeline { Temperature = _options.Temperature, Seed = _options.Seed };
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, _weights);
        return new Slot(job, conversation, sampler, decoder, promptTokens, Math.Min(job.Request.MaxTokens, room));
    }

    /// <summary>Samples the next token of one conversation; a result when it is finished.</summary>
    private GenerationResult? Step(Slot slot)
    {
        // A long prompt may still sit in a later batch; it cannot be sampled (or disposed) before it is decoded.
        if (slot.Conversation.RequiresInference) return null;
        if (slot.Job.Cancellation.IsCancellationRequested) return slot.Result(AnswerStatus.Error, "cancelled");
        if (slot.Job.Elapsed > slot.Job.Request.Timeout)
        {
            return slot.Result(AnswerStatus.Timeout,
                $"Generation exceeded its budget of {slot.Job.Request.Timeout.TotalSeconds:0.#} s.");
        }

        var token = slot.Conversation.Sample(slot.Sampler);
        slot.FirstToken ??= slot.Job.Elapsed;
        if (token.IsEndOfGeneration(_weights.Vocab)) return slot.Result(AnswerStatus.Ok, null);
        slot.Decoder.Add(token);
        slot.Text.Append(slot.Decoder.Read());
        slot.Completion++;
        if (slot.Completion >= slot.MaxTokens) return slot.Result(AnswerStatus.Ok, null);
        slot.Conversation.Prompt(token);
        slot.ReportPartial();
        return null;
    }

    /// <summary>
    /// Fails the active questions and starts over with a fresh context (queued tokens cannot be removed cleanly).
    /// </summary>
    private async Task ResetAsync(List<Slot> active, string reason, CancellationToken stop)
    {
        foreach (var slot in active) slot.Finish(slot.Result(AnswerStatus.Error, reason), disposeConversation: false);
        active.Clear();
        _logger.LogWarning("Generation failed ({Reason}); starting over with a fresh context", reason);
        _root = null;
        _executor.Dispose();
        _executor = new BatchedExecutor(_weights, _parameters);
        try
        {
            _root = await DecodePrefixAsync(_executor, _format, stop);
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            _logger.LogError(ex, "Decoding the shared prompt prefix failed; questions will decode their whole prompt");
        }
    }

    /// <summary>
    /// Routes llama.cpp's own log lines (warnings and errors only) to the logger; they are very chatty below that.
    /// </summary>
    private static void RouteNativeLogs(ILogger logger) =>
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error) logger.LogError("llama.cpp: {Message}", message.TrimEnd());
            else if (level == LLamaLogLevel.Warning) logger.LogWarning("llama.cpp: {Message}", message.TrimEnd());
        });

    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
        _executor.Dispose();
        _weights.Dispose();
        _stop.Dispose();
    }

    private sealed class Job(GenerationRequest request, CancellationToken cancellation)
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        public GenerationRequest Request { get; } = request;
        public CancellationToken Cancellation { get; } = cancellation;
        public TaskCompletionSource<GenerationResult> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);
    }

    private sealed class Slot(Job job, Conversation conversation, DefaultSamplingPipeline sampler,
        StreamingTokenDecoder decoder, int promptTokens, int maxTokens)
    {
        private TimeSpan _lastPartial;
        public Job Job { get; } = job;
        public Conversation Conversation { get; } = conversation;
        public DefaultSamplingPipeline Sampler { get; } = sampler;
        public StreamingTokenDecoder Decoder { get; } = decoder;
        public StringBuilder Text { get; } = new();
        public int PromptTokens { get; } = promptTokens;
        public int MaxTokens { get; } = maxTokens;
        public int Completion { get; set; }
        public TimeSpan? FirstToken { get; set; }

        public GenerationResult Result(string status, string? reason) => new(Text.ToString().Trim(), status, reason)
        {
            PromptTokens = PromptTokens,
            CompletionTokens = Completion,
            TimeToFirstToken = FirstToken ?? TimeSpan.Zero,
            Total = Job.Elapsed,
        };

        public void ReportPartial()
        {
            if (Job.Request.Partial is not { } partial) return;
            var now = Job.Elapsed;
            if (_lastPartial != TimeSpan.Zero && now - _lastPartial < Job.Request.PartialInterval) return;
            _lastPartial = now;
            partial(Text.ToString());
        }

        public void Finish(GenerationResult result, bool disposeConversation = true)
        {
            if (disposeConversation) Conversation.Dispose();
            Sampler.Dispose();
            if (Job.Cancellation.IsCancellationRequested) Job.Completion.TrySetCanceled(Job.Cancellation);
            else Job.Completion.TrySetResult(result);
        }

        public void Cancel()
        {
            Sampler.Dispose();
            Job.Completion.TrySetCanceled();
        }
    }
}
