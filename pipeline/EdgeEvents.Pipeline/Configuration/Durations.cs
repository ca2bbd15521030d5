using System.ComponentModel;
using System.Globalization;

namespace EdgeEvents.Pipeline.Configuration;

/// <summary>
/// The one duration grammar of every command-line option and configuration value: a number with a unit
/// (<c>500ms</c>, <c>2s</c>, <c>1.5m</c>, <c>1h</c>, <c>1d</c>) or <c>[d.]hh:mm:ss[.fffffff]</c>. A bare number is
/// refused: <c>2</c> meant two days to <see cref="TimeSpan"/> and two seconds to people.
/// </summary>
public static class Durations
{
    /// <summary>The accepted forms, for error messages and help.</summary>
    public const string AcceptedForms = "500ms, 2s, 1m, 1h, 1d or hh:mm:ss";

    private static readonly (string Suffix, TimeSpan Unit)[] Units =
    [
        ("ms", TimeSpan.FromMilliseconds(1)), ("s", TimeSpan.FromSeconds(1)), ("m", TimeSpan.FromMinutes(1)),
        ("h", TimeSpan.FromHours(1)), ("d", TimeSpan.FromDays(1)),
    ];

    private static int _registered;

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text)) return false;
        foreach (var (suffix, unit) in Units)
        {
            if (!text.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var number = text[..^suffix.Length];
            // "5m" must not be read as "5" + "m" of "ms"; a number never ends in a letter, so this only rejects junk.
            if (number.Length == 0 || !char.IsAsciiDigit(number[^1])) continue;
            if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
                return false;
            var ticks = amount * unit.Ticks;
            if (!double.IsFinite(ticks) || ticks > TimeSpan.MaxValue.Ticks) return false;
            value = TimeSpan.FromTicks((long)Math.Round(ticks));
            return true;
        }
        // A clock form needs its colons: "2" alone would otherwise be two days.
        return text.Contains(':')
            && TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out value)
            && value >= TimeSpan.Zero;
    }

    /// <exception cref="FormatException">Not one of the accepted forms; the message says which are.</exception>
    public static TimeSpan Parse(string? text) =>
        TryParse(text, out var value) ? value : throw new FormatException(Error(text));

    /// <summary>The error for a value that is not a duration.</summary>
    public static string Error(string? text) =>
        string.IsNullOrWhiteSpace(text) || text.Trim().All(c => char.IsAsciiDigit(c) || c == '.')
            ? $"'{text}' is not a duration: give it a unit ({AcceptedForms})."
            : $"'{text}' is not a duration; use {AcceptedForms}.";

    /// <summary>
    /// The shortest exact form (<c>500ms</c>, <c>3s</c>, <c>1h</c>), the one help texts and README show.
    /// </summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero) return "0s";
        for (var i = Units.Length - 1; i >= 0; i--)
        {
            var (suffix, unit) = Units[i];
            if (value.Ticks % unit.Ticks == 0) return $"{value.Ticks / unit.Ticks}{suffix}";
        }
        return $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
    }

    /// <summary>
    /// Makes configuration binding (and <c>[Range(typeof(TimeSpan), …)]</c>) read <see cref="TimeSpan"/> with this
    /// grammar, process-wide. Idempotent; called wherever options are bound.
    /// </summary>
    public static void UseForConfiguration()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
    }
}
