using EdgeEvents.Llm.Generation;
using EdgeEvents.Llm.Scene;

namespace EdgeEvents.Llm.Questions;

/// <summary>
/// The user turn for one question: the scene facts, then the question. The facts get the room the context leaves:
/// <see cref="LlamaGenerator.ContextSize"/> minus <see cref="LlmOptions.MaxTokens"/> for the answer minus the rest of
/// the prompt (system prompt, template, question), all measured with the model's own tokenizer. A scene too big for
/// that room is shortened (<see cref="SceneSummary.Fit"/>), never refused.
/// </summary>
/// <param name="Tokens">Tokens of the whole prompt.</param>
internal sealed record QuestionPrompt(string UserData, int Tokens, SceneSummaryFit Facts)
{
    public static QuestionPrompt Build(LlamaGenerator generator, LlmOptions options, string question,
        IReadOnlyList<CameraSnapshot> cameras, string? scope, DateTimeOffset now)
    {
        IReadOnlyCollection<string> named = scope is not null
            ? [scope]
            : FactsAnswerer.CamerasMentioned(question, cameras.Select(c => c.Camera));
        var facts = SceneSummary.Fit(cameras, now, options.PromptObjects, scope, named,
            summary => generator.CountPromptTokens(Compose(summary, question)),
            generator.ContextSize - options.MaxTokens);
        return new QuestionPrompt(Compose(facts.Text, question), facts.Tokens, facts);
    }

    private static string Compose(string facts, string question) => $"Scene facts:\n{facts}\nQuestion: {question}";
}
