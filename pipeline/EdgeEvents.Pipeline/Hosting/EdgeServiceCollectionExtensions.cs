using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Configuration;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Pipeline.Hosting;

public static class EdgeServiceCollectionExtensions
{
    /// <summary>
    /// Registers a component's <see cref="EdgeComponent"/> as a keyed singleton (key = component name) and connects it
    /// when the host starts. Transport settings come from the <c>Transport</c> section, overridden per component by
    /// <c>Transport:{component}</c> (e.g. a different client id).
    /// </summary>
    /// <param name="name">
    /// The name on the wire (status, errors and stats topics, default client id) when it differs from the service key:
    /// a camera is known by its camera id, which is also its broker user name.
    /// </param>
    public static IServiceCollection AddEdgeComponent(this IServiceCollection services, IConfiguration configuration,
        string component, string? name = null)
    {
        services.TryAddTopicScheme(configuration);
        services.AddKeyedSingleton(component, (sp, _) =>
        {
            var options = BindTransportOptions(configuration, component);
            var loggerFactory = sp.GetRequiredService<ILoggerFactory>();
            var transport = TransportFactory.Create(options, name ?? component, loggerFactory);
            return new EdgeComponent(name ?? component, sp.GetRequiredService<TopicScheme>(), transport, loggerFactory);
        });
        services.AddSingleton<IHostedService>(sp =>
            new ComponentConnector(sp.GetRequiredKeyedService<EdgeComponent>(component)));
        return services;
    }

    public static TransportOptions BindTransportOptions(IConfiguration configuration, string component)
    {
        Durations.UseForConfiguration();
        var options = new TransportOptions();
        configuration.GetSection(TransportOptions.Section).Bind(options);
        configuration.GetSection($"{TransportOptions.Section}:{component}").Bind(options);
        return options;
    }

    private static void TryAddTopicScheme(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(TopicScheme))) return;
        services.AddSingleton(_ =>
            new TopicScheme(configuration[$"{TransportOptions.Section}:Prefix"] ?? TopicScheme.DefaultPrefix));
    }

    /// <summary>
    /// Binds an options record from a configuration section and validates its data annotations at start.
    /// </summary>
    public static OptionsBuilder<T> AddEdgeOptions<T>(this IServiceCollection services, IConfiguration configuration,
        string section) where T : class
    {
        Durations.UseForConfiguration();
        return services.AddOptions<T>()
            .Bind(configuration.GetSection(section), o => o.ErrorOnUnknownConfiguration = true)
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }

    private sealed class ComponentConnector(EdgeComponent component) : IHostedService
    {
        // Start the connection loop without blocking host start-up:
        // subscriptions and at-least-once publishes wait for it.
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = component.Transport.ConnectAsync(CancellationToken.None);
            return Task.CompletedTask;
        }

        // The container disposes the component after every hosted service has stopped.
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
