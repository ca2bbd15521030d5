using System.CommandLine;
using EdgeEvents.Pipeline.Configuration;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// Duration options of every command, read with the one grammar of <see cref="Durations"/> (as configuration is).
/// </summary>
public static class DurationOption
{
    public static Option<TimeSpan> Create(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (Durations.TryParse(text, out var value)) return value;
            result.AddError($"{name}: {Durations.Error(text)}");
            return default;
        },
    };
}
