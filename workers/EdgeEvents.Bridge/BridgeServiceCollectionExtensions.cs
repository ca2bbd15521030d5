using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeEvents.Bridge;

public static class BridgeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the bridge: its local <see cref="EdgeComponent"/> (<c>bridge</c>, from section <c>Transport</c>),
    /// <see cref="BridgeOptions"/> from section <c>Bridge</c> (validated at start), and the <see cref="BridgeWorker"/>.
    /// </summary>
    public static IServiceCollection AddBridge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, BridgeWorker.Component);
        services.AddEdgeOptions<BridgeOptions>(configuration, BridgeOptions.Section);
        services.AddSingleton<BridgeWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<BridgeWorker>());
        return services;
    }
}
