using System.CommandLine;
using System.Globalization;

namespace EdgeEvents.Bench;

/// <summary>
/// Command-line pieces the benchmarks share. Each benchmark class builds its <see cref="Command"/> in a static
/// <c>Command()</c> (its options, parsed into the arguments of its typed <c>RunAsync</c>) and Program.cs registers it
/// in one line. Unknown options and malformed values are errors, and <c>--help</c> works on every benchmark.
/// </summary>
internal static class BenchOptions
{
    /// <summary><c>--quick</c>: the short run that CI and the bench tests use.</summary>
    public static Option<bool> Quick(string description) => new("--quick") { Description = description };

    /// <summary>
    /// The option's value when given on the command line, else <paramref name="fallback"/>: for defaults that depend on
    /// other options (<c>--quick</c>), which <see cref="Option{T}.DefaultValueFactory"/> cannot see.
    /// </summary>
    public static T GivenOr<T>(this ParseResult parse, Option<T> option, T fallback) =>
        parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option)! : fallback;

    /// <summary>An option with a default value (which <c>--help</c> shows).</summary>
    public static Option<T> WithDefault<T>(string name, string description, T fallback) =>
        new(name) { Description = description, DefaultValueFactory = _ => fallback };

    /// <summary>An option whose value is a comma-separated list, e.g. <c>--cameras 1,2,4</c>.</summary>
    public static Option<T[]> List<T>(string name, string description) where T : IParsable<T> => new(name)
    {
        Description = description,
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            var items = new List<T>();
            foreach (var item in result.Tokens.Single().Value.Split(','))
            {
                if (!T.TryParse(item.Trim(), CultureInfo.InvariantCulture, out var value))
                {
                    result.AddError($"'{item}' in {name} is not a valid {typeof(T).Name}.");
                    return [];
                }
                items.Add(value);
            }
            return [.. items];
        },
    };

    /// <summary>A comma-separated list of names, each one of <paramref name="allowed"/>.</summary>
    public static Option<string[]> Names(string name, string description, params string[] allowed)
    {
        var option = List<string>(name, description);
        option.Validators.Add(result =>
        {
            foreach (var unknown in (result.GetValueOrDefault<string[]>()).Except(allowed))
                result.AddError($"'{unknown}' in {name} is not one of {string.Join(", ", allowed)}.");
        });
        return option;
    }
}
