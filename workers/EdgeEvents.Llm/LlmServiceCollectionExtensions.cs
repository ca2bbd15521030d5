using EdgeEvents.Llm.Questions;
using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Llm;

public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the LLM worker: its <c>llm</c> component (transport settings from <c>Transport</c>, overridden by
    /// <c>Transport:llm</c>), its options from section <c>Llm</c>, and the hosted <see cref="LlmWorker"/>. Its question
    /// ledger lives beside the component's outbox (in memory when the outbox is off).
    /// </summary>
    public static IServiceCollection AddLlmWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, LlmWorker.Component);
        services.AddEdgeOptions<LlmOptions>(configuration, LlmOptions.Section);
        var outbox = EdgeServiceCollectionExtensions.BindTransportOptions(configuration, LlmWorker.Component).Outbox;
        var ledgerPath = outbox.Path is { Length: > 0 }
            ? QuestionLedger.PathBeside(outbox.ResolvePath(LlmWorker.Component))
            : null;
        services.AddSingleton(sp => new LlmWorker(
            sp.GetRequiredKeyedService<EdgeComponent>(LlmWorker.Component),
            sp.GetRequiredService<IOptions<LlmOptions>>(),
            ledgerPath,
            sp.GetRequiredService<ILogger<LlmWorker>>()));
        services.AddHostedService(sp => sp.GetRequiredService<LlmWorker>());
        return services;
    }
}
