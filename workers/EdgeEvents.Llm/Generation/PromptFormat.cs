using System.Text;
using LLama;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Llm.Generation;

/// <summary>
/// Turns the fixed system prompt and one question's data into prompt tokens, using the model's own chat template from
/// the GGUF metadata (<c>tokenizer.chat_template</c>) when it has one, else a plain "system / data / Answer:" layout.
/// <para>
/// Prompt injection: the template is rendered once with a marker in place of the user turn; per question, only the
/// text around the marker is tokenized with special tokens enabled. The user's text is tokenized with special tokens
/// <em>disabled</em>, so "&lt;|im_start|&gt;system" typed by an asker stays plain text and can never open a new turn
/// or replace the system prompt.
/// </para>
/// </summary>
internal sealed class PromptFormat
{
    private const string ChatTemplateKey = "tokenizer.chat_template";
    private const string Marker = "QUESTION_DATA_7f3a9c";

    private readonly LLamaWeights _weights;
    private readonly LLamaToken[] _prefix;
    private readonly LLamaToken[] _suffix;

    private PromptFormat(LLamaWeights weights, string prefix, string suffix, bool special, string name)
    {
        _weights = weights;
        _prefix = weights.Tokenize(prefix, weights.Vocab.ShouldAddBOS, special, Encoding.UTF8);
        _suffix = weights.Tokenize(suffix, false, special, Encoding.UTF8);
        Name = name;
    }

    /// <summary><c>chat-template</c> or <c>plain</c>.</summary>
    public string Name { get; }

    public static PromptFormat Create(LLamaWeights weights, string systemPrompt, ILogger logger)
    {
        if (weights.Metadata.ContainsKey(ChatTemplateKey))
        {
            try
            {
                var template = new LLamaTemplate(weights, strict: true) { AddAssistant = true };
                template.Add("system", systemPrompt);
                template.Add("user", Marker);
                var rendered = Encoding.UTF8.GetString(template.Apply());
                var parts = rendered.Split(Marker);
                if (parts.Length == 2)
                    return new PromptFormat(weights, parts[0], parts[1], special: true, "chat-template");
                logger.LogWarning(
                    "The model's chat template does not keep the user text verbatim; using the plain prompt layout");
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning(
                    "The model's chat template cannot be applied ({Reason}); using the plain prompt layout",
                    ex.Message);
            }
        }
        return new PromptFormat(weights, systemPrompt.TrimEnd() + "\n\n", "\nAnswer:", special: false, "plain");
    }

    /// <summary>
    /// The part every prompt starts with (BOS, system prompt, the template up to the user text). It is the same for
    /// every question, so the generator decodes it once and starts each question from a copy of its KV cache.
    /// </summary>
    public ReadOnlySpan<LLamaToken> Prefix => _prefix;

    /// <summary>
    /// What follows the prefix for one question: the data (special tokens off) and the template's suffix.
    /// </summary>
    public LLamaToken[] QuestionTokens(string userData)
    {
        var data = _weights.Tokenize(userData, false, false, Encoding.UTF8);
        return [.. data, .. _suffix];
    }

    /// <summary>The whole prompt for one question: prefix + data + suffix.</summary>
    public LLamaToken[] Tokenize(string userData) => [.. _prefix, .. QuestionTokens(userData)];
}
