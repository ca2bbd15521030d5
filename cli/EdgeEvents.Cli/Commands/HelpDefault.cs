using System.Collections;
using System.Globalization;
using EdgeEvents.Pipeline.Configuration;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// The <c>[default: …]</c> of a help text, taken from the options record itself so help cannot drift from the code:
/// <c>"Track unseen this long ends" + HelpDefault.Of(SceneOptions.Default.LostAfter)</c>.
/// </summary>
public static class HelpDefault
{
    public static string Of(object? value) => $" [default: {Format(value)}]";

    /// <summary>
    /// A default as a user would type it: durations in <see cref="Durations"/> form, numbers invariant, lists
    /// comma-separated.
    /// </summary>
    public static string Format(object? value) => value switch
    {
        null => "none",
        TimeSpan duration => Durations.Format(duration),
        bool flag => flag ? "true" : "false",
        string text => text,
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable list => string.Join(",", list.Cast<object?>().Select(Format)),
        _ => value.ToString() ?? "",
    };
}
