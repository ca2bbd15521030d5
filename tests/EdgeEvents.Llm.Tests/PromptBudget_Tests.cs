using EdgeEvents.Contracts.Messages;
using EdgeEvents.Llm.Generation;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Llm.Scene;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace EdgeEvents.Llm.Tests;

/// <summary>
/// Prompts fitted to the context with the real model's tokenizer (stories260K: 512-token vocabulary, many tokens per
/// word).
/// </summary>
public sealed class PromptBudget_Tests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 15, 0, TimeSpan.Zero);

    /// <summary>16 cameras × 30 objects (10 people, 10 cars, 10 dogs) and 10 events each.</summary>
    internal static IEnumerable<SceneState> BusyCameras() =>
        Enumerable.Range(1, 16)
            .Select(c => Scene_Tests.State($"cam{c:00}", T0, ("person", 10), ("car", 10), ("dog", 10)));

    private static SceneContext BusyScene()
    {
        var context = new SceneContext(recentEvents: 10);
        foreach (var state in BusyCameras())
        {
            context.Apply(state);
            for (var i = 0; i < 10; i++)
            {
                context.Apply(new SceneEvent
                {
                    Id = $"{state.Camera}-e{i}",
                    Camera = state.Camera,
                    Type = SceneEventTypes.New,
                    Label = "dog",
                    TrackId = $"{state.Camera}-dog-{i}",
                    CreatedAt = T0.AddSeconds(i - 10),
                });
            }
        }
        return context;
    }

    [Fact]
    public async Task Default_context_is_the_models_training_context()
    {
        var options = new LlmOptions { ModelPath = LlmWorkerHost.ModelPath, Parallelism = 1, Threads = 2 };
        await using var generator = await LlamaGenerator.LoadAsync(options, NullLogger.Instance, default);

        // stories260K was trained on 2,048 tokens (GGUF llama.context_length), under the 4,096 cap.
        Assert.Equal(2048, generator.ContextSize);
        Assert.Equal(2048, generator.KvCacheTokens);
    }

    [Theory]
    [InlineData("What do you see on cam07?", "cam07", 600)]
    [InlineData("Compare cam03 and cam12.", null, 600)]
    [InlineData("How many dogs are there?", null, 600)]
    [InlineData("How many people are on cam07?", "cam07", 1024)]
    public async Task Sixteen_busy_cameras_fit_a_small_context_and_the_model_answers(
        string question, string? scope, int contextSize)
    {
        var options = new LlmOptions
        {
            ModelPath = LlmWorkerHost.ModelPath,
            ContextSize = contextSize,
            MaxTokens = 24,
            Parallelism = 1,
            Threads = 2,
        };
        await using var generator = await LlamaGenerator.LoadAsync(options, NullLogger.Instance, default);
        var context = BusyScene();
        Assert.Equal(scope, FactsAnswerer.CameraMentioned(question, context.Cameras));
        var cameras = context.Snapshot(scope);

        var prompt = QuestionPrompt.Build(generator, options, question, cameras, scope, T0);
        var wholeScene = SceneSummary.Fit(cameras, T0, options.PromptObjects, scope, [], _ => 0, 0);
        var whole = generator.CountPromptTokens(wholeScene.Text);
        var result = await generator.GenerateAsync(
            new GenerationRequest(prompt.UserData) { MaxTokens = options.MaxTokens }, default);

        output.WriteLine($"{question}: whole scene {whole} tokens; fitted prompt {prompt.Tokens} tokens after " +
            $"{prompt.Facts.Cuts} cuts; context {contextSize}, answer 24");
        Assert.True(whole > contextSize,
            $"the whole scene ({whole} tokens) should not fit, or the test proves nothing");
        Assert.Equal(generator.CountPromptTokens(prompt.UserData), prompt.Tokens);
        Assert.InRange(prompt.Tokens, generator.SharedPrefixTokens, contextSize - 24);
        Assert.Contains("List shortened: ", prompt.UserData);
        Assert.EndsWith($"Question: {question}", prompt.UserData);
        foreach (var named in FactsAnswerer.CamerasMentioned(question, context.Cameras))
            Assert.Contains($"Camera {named} at 2026-11-28 10:15:00Z: 10 cars, 10 dogs, 10 people.\n", prompt.UserData);
        Assert.True(result.Status == AnswerStatus.Ok, $"{result.Status}: {result.Reason}");
        Assert.Equal(prompt.Tokens, result.PromptTokens);
        Assert.InRange(result.CompletionTokens, 1, 24);
    }

    [Fact]
    public async Task A_question_too_long_for_the_context_even_with_the_scene_cut_to_its_minimum_gets_an_error_naming_the_sizes()
    {
        var options = new LlmOptions
        {
            ModelPath = LlmWorkerHost.ModelPath, ContextSize = 512, MaxTokens = 24, Parallelism = 1, Threads = 2,
        };
        await using var generator = await LlamaGenerator.LoadAsync(options, NullLogger.Instance, default);
        var question = "Is there a dog on cam07? " + string.Concat(Enumerable.Repeat("Look again please. ", 60));

        var prompt = QuestionPrompt.Build(generator, options, question, BusyScene().Snapshot("cam07"), "cam07", T0);
        var result = await generator.GenerateAsync(
            new GenerationRequest(prompt.UserData) { MaxTokens = options.MaxTokens }, default);

        Assert.Contains(
            "Camera cam07 at 2026-11-28 10:15:00Z: 10 cars, 10 dogs, 10 people.\n" +
            "List shortened: 30 objects, 10 events not listed",
            prompt.UserData);
        Assert.True(prompt.Tokens > 512, $"{prompt.Tokens} tokens");
        Assert.Equal(AnswerStatus.Error, result.Status);
        Assert.Equal($"The prompt has {prompt.Tokens} tokens; the context holds 512.", result.Reason);
    }
}
