using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeEvents.Fleet;

public static class FleetServiceCollectionExtensions
{
    /// <summary>
    /// Registers the fleet component: its <see cref="EdgeComponent"/> (<c>fleet</c>), <see cref="FleetOptions"/> from
    /// section <c>Fleet</c> (validated at start), and the <see cref="FleetWorker"/> hosted service.
    /// </summary>
    public static IServiceCollection AddFleetWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, FleetWorker.Component);
        services.AddEdgeOptions<FleetOptions>(configuration, FleetOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<FleetWorker>();
        return services;
    }
}
