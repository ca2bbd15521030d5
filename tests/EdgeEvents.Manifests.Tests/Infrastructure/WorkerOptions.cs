using System.ComponentModel.DataAnnotations;
using EdgeEvents.Broker;
using EdgeEvents.Camera;
using EdgeEvents.Cli.Dashboard;
using EdgeEvents.Detector;
using EdgeEvents.Fleet;
using EdgeEvents.Llm;
using EdgeEvents.Pipeline.Configuration;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// Binds configuration the way the edge-events host does: each section into its options record with
/// ErrorOnUnknownConfiguration, then the data-annotation and IValidatableObject checks ValidateOnStart runs.
/// </summary>
public static class WorkerOptions
{
    /// <summary>The options records of edge-events, by the configuration section each is bound from.</summary>
    public static IReadOnlyDictionary<string, Type> BySection { get; } =
        new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
        {
            [TransportOptions.Section] = typeof(TransportOptions),
            [BrokerOptions.Section] = typeof(BrokerOptions),
            [HealthOptions.Section] = typeof(HealthOptions),
            [StatsOptions.Section] = typeof(StatsOptions),
            [TelemetryOptions.Section] = typeof(TelemetryOptions),
            [CameraOptions.Section] = typeof(CameraOptions),
            [DetectorOptions.Section] = typeof(DetectorOptions),
            [SceneOptions.Section] = typeof(SceneOptions),
            [LlmOptions.Section] = typeof(LlmOptions),
            [FleetOptions.Section] = typeof(FleetOptions),
            [DashboardOptions.Section] = typeof(DashboardOptions),
        };

    /// <summary>Sections every hosted command reads, whatever its role.</summary>
    private static readonly string[] Common =
        [TransportOptions.Section, HealthOptions.Section, StatsOptions.Section, TelemetryOptions.Section, "Logging"];

    /// <summary>
    /// What is wrong with <paramref name="configuration"/> for a process running <paramref name="role"/>; empty when
    /// nothing.
    /// </summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration, string role)
    {
        var problems = new List<string>();
        foreach (var section in configuration.GetChildren())
        {
            if (!Common.Contains(section.Key, StringComparer.OrdinalIgnoreCase) &&
                !section.Key.Equals(role, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"section '{section.Key}' is not read by the {role} command " +
                    $"(it reads {string.Join(", ", Common)} and its own section)");
                continue;
            }
            if (section.Key.Equals("Logging", StringComparison.OrdinalIgnoreCase))
            {
                problems.AddRange(LoggingProblems(section));
                continue;
            }
            if (!BySection.TryGetValue(section.Key, out var type))
            {
                problems.Add($"section '{section.Key}' has no options record that binds it");
                continue;
            }
            problems.AddRange(Bind(section, type));
        }
        return problems;
    }

    /// <summary>
    /// Binds one section into a fresh <paramref name="type"/>; returns the binding and validation errors.
    /// </summary>
    public static IReadOnlyList<string> Bind(IConfigurationSection section, Type type)
    {
        // Durations read as the host reads them (500ms, 2s, hh:mm:ss).
        Durations.UseForConfiguration();
        var options = Activator.CreateInstance(type)!;
        try
        {
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            return [$"{section.Path} → {type.Name}: {ex.Message}"];
        }
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => $"{section.Path} → {type.Name}: {r.ErrorMessage}")];
    }

    // The host reads Logging:LogLevel:{category} = a LogLevel name; nothing else is configured there.
    private static IEnumerable<string> LoggingProblems(IConfigurationSection logging)
    {
        foreach (var child in logging.GetChildren())
        {
            if (!child.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"Logging:{child.Key} is not a logging setting the manifests should set";
                continue;
            }
            foreach (var level in child.GetChildren())
            {
                if (!Enum.TryParse<LogLevel>(level.Value, ignoreCase: true, out _))
                    yield return $"{level.Path} = '{level.Value}' is not a log level";
            }
        }
    }
}
