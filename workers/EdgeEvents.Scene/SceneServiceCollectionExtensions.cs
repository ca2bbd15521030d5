using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Scene.HomeAssistant;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeEvents.Scene;

public static class SceneServiceCollectionExtensions
{
    /// <summary>
    /// Registers the scene worker: its <see cref="EdgeComponent"/> (<c>scene</c>), <see cref="SceneOptions"/> from
    /// section <c>Scene</c> and <see cref="HomeAssistantOptions"/> from <c>HomeAssistant</c> (validated at start), and
    /// the <see cref="SceneWorker"/> hosted service (also resolvable, for its history).
    /// </summary>
    public static IServiceCollection AddSceneWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, SceneWorker.Component);
        services.AddEdgeOptions<SceneOptions>(configuration, SceneOptions.Section);
        services.AddEdgeOptions<HomeAssistantOptions>(configuration, HomeAssistantOptions.Section);
        services.AddSingleton<SceneWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<SceneWorker>());
        return services;
    }
}
