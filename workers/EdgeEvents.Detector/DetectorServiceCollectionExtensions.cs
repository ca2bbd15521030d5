using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Detector;

public static class DetectorServiceCollectionExtensions
{
    /// <summary>
    /// Registers the detector: its <see cref="EdgeComponent"/> (transport from <c>Transport</c>),
    /// <see cref="DetectorOptions"/> from section <c>Detector</c> (unknown keys fail), and the
    /// <see cref="DetectorWorker"/> hosted service.
    /// </summary>
    public static IServiceCollection AddDetectorWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEdgeComponent(configuration, DetectorWorker.Component);
        services.AddEdgeOptions<DetectorOptions>(configuration, DetectorOptions.Section);
        services.AddSingleton(sp => new DetectorWorker(
            sp.GetRequiredService<IOptions<DetectorOptions>>().Value,
            sp.GetRequiredKeyedService<EdgeComponent>(DetectorWorker.Component),
            sp.GetRequiredService<ILoggerFactory>(),
            TransportFactory.ClientIdOf(
                EdgeServiceCollectionExtensions.BindTransportOptions(configuration, DetectorWorker.Component),
                DetectorWorker.Component)));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<DetectorWorker>());
        return services;
    }
}
