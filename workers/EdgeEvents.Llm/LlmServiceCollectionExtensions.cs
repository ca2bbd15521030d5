using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeEvents.Llm;

public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the LLM worker: its <c>llm</c> component (transport settings from <c>Transport</c>, overridden by
    /// <c>Transport:llm</c>), its options from section <c>Llm</c>, and the hosted <see cref="LlmWorker"/>.
    /// </summary>
    public static IServiceCollection AddLlmWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, LlmWorker.Component);
        services.AddEdgeOptions<LlmOptions>(configuration, LlmOptions.Section);
        services.AddSingleton<LlmWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<LlmWorker>());
        return services;
    }
}
