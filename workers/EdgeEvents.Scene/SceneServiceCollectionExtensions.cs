using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeEvents.Scene;

public static class SceneServiceCollectionExtensions
{
    /// <summary>
    /// Registers the scene worker: its <see cref="EdgeComponent"/> (<c>scene</c>), <see cref="SceneOptions"/> from section
    /// <c>Scene</c> (validated at start), and the <see cref="SceneWorker"/> hosted service (also resolvable, for its history).
    /// </summary>
    public static IServiceCollection AddSceneWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, SceneWorker.ComponentName);
        services.AddEdgeOptions<SceneOptions>(configuration, SceneOptions.Section);
        services.AddSingleton<SceneWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<SceneWorker>());
        return services;
    }
}
