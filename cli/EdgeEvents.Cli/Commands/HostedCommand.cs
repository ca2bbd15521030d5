using System.CommandLine;
using System.Runtime.CompilerServices;
using EdgeEvents.Pipeline.Configuration;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// A command-line option and the configuration key it sets (e.g. <c>--model</c> → <c>Detector:ModelPath</c>).
/// </summary>
public sealed record ConfigOption(Option Option, string Key);

/// <summary>
/// Builds commands that run a generic host. Configuration comes, later sources winning, from <c>appsettings.json</c>
/// beside the executable, the file given by <c>--config</c>, environment variables prefixed <c>EDGEEVENTS_</c>
/// (<c>EDGEEVENTS_Detector__ModelPath</c>), and finally the command's own options.
/// </summary>
public static class HostedCommand
{
    private static readonly TransportOptions TransportDefaults = new();
    private static readonly ConditionalWeakTable<Command, IReadOnlyList<ConfigOption>> Keys = new();

    public static readonly Option<string> Broker = new("--broker")
    {
        Description = "Broker URL: mqtt://host:port, mqtts://host:port or nats://host:port" +
            HelpDefault.Of(TransportDefaults.Broker),
    };
    public static readonly Option<string> Prefix = new("--prefix")
    {
        Description = "Topic prefix" + HelpDefault.Of(TransportDefaults.Prefix),
    };
    public static readonly Option<string> ClientId = new("--client-id")
    {
        Description = "Client id; must be unique per process " +
            "[default: {component}-{user}-{host}, {component}-{host} without a user]",
    };
    public static readonly Option<int> HealthPort = new("--health-port")
    {
        Description = "Port for /healthz, /readyz and /metrics; 0 disables them" +
            HelpDefault.Of(new HealthOptions().Port),
    };
    public static readonly Option<string> HealthBind = new("--health-bind")
    {
        Description = "Address of the health listener; 0.0.0.0 lets probes and Prometheus on other machines reach it " +
            "[default: 127.0.0.1]",
    };
    public static readonly Option<FileInfo> ConfigFile = new("--config")
    {
        Description = "Extra JSON configuration file",
    };

    /// <summary>Options every hosted command takes, with their configuration keys.</summary>
    public static IReadOnlyList<ConfigOption> Common { get; } =
    [
        new(Broker, "Transport:Broker"),
        new(Prefix, "Transport:Prefix"),
        new(ClientId, "Transport:ClientId"),
        new(HealthPort, "Health:Port"),
        new(HealthBind, "Health:BindAddress"),
    ];

    /// <summary>
    /// A command that builds a host from configuration, lets <paramref name="configure"/> register services, and runs
    /// it until Ctrl-C (or the host stops itself).
    /// </summary>
    public static Command Create(string name, string description, IEnumerable<ConfigOption> options,
        Action<HostApplicationBuilder> configure)
    {
        var command = new Command(name, description);
        var all = Common.Concat(options).ToList();
        AddOptions(command, all);
        command.Options.Add(ConfigFile);
        command.SetAction(async (parse, ct) =>
        {
            var builder = CreateBuilder(parse, all);
            builder.AddEdgeServiceDefaults(name);
            configure(builder);
            using var host = builder.Build();
            await host.RunAsync(ct);
            return Environment.ExitCode;
        });
        return command;
    }

    /// <summary>
    /// Adds <paramref name="options"/> to <paramref name="command"/> and remembers their keys
    /// (<see cref="ConfigOptionsOf"/>).
    /// </summary>
    public static void AddOptions(Command command, IReadOnlyList<ConfigOption> options)
    {
        foreach (var option in options) command.Options.Add(option.Option);
        Keys.AddOrUpdate(command, options);
    }

    /// <summary>The options of a command that set configuration keys, as given to <see cref="AddOptions"/>.</summary>
    public static IReadOnlyList<ConfigOption> ConfigOptionsOf(Command command) =>
        Keys.TryGetValue(command, out var options) ? options : [];

    public static HostApplicationBuilder CreateBuilder(ParseResult parse, IEnumerable<ConfigOption> options)
    {
        Durations.UseForConfiguration();
        var builder = Host.CreateEmptyApplicationBuilder(
            new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        if (parse.GetValue(ConfigFile) is { } file) builder.Configuration.AddJsonFile(file.FullName, optional: false);
        builder.Configuration.AddEnvironmentVariables("EDGEEVENTS_");
        builder.Configuration.AddInMemoryCollection(ToConfiguration(parse, options));
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        // Logs go to stderr so stdout stays machine-readable (watch, ask print JSON lines there).
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(
            o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        return builder;
    }

    /// <summary>The options given on the command line (not their defaults), as configuration key/value pairs.</summary>
    public static Dictionary<string, string?> ToConfiguration(ParseResult parse, IEnumerable<ConfigOption> options)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key) in options)
        {
            var result = parse.GetResult(option);
            if (result is null || result.Implicit) continue;
            var value = result.GetValueOrDefault<object?>();
            switch (value)
            {
                case null: break;
                case FileSystemInfo f: values[key] = f.FullName; break;
                case string[] list:
                    for (var i = 0; i < list.Length; i++) values[$"{key}:{i}"] = list[i];
                    break;
                case IFormattable formattable:
                    values[key] = formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                default: values[key] = value.ToString(); break;
            }
        }
        return values;
    }

    /// <summary>
    /// Reads transport options the same way the hosted commands do, for commands that connect without a host
    /// (watch, ask).
    /// </summary>
    public static TransportOptions TransportFrom(IConfiguration configuration, string component) =>
        Pipeline.Hosting.EdgeServiceCollectionExtensions.BindTransportOptions(configuration, component);
}
