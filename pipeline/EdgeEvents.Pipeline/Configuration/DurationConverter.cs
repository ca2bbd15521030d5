using System.ComponentModel;
using System.Globalization;

namespace EdgeEvents.Pipeline.Configuration;

/// <summary>
/// Reads configuration strings as <see cref="Durations"/> (registered by <see cref="Durations.UseForConfiguration"/>).
/// </summary>
public sealed class DurationConverter : TimeSpanConverter
{
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? Durations.Parse(text) : base.ConvertFrom(context, culture, value);
}
