using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Scene.HomeAssistant;

/// <summary>
/// Home Assistant MQTT discovery by the scene worker. Bound from configuration section <c>HomeAssistant</c>; unknown
/// keys fail at start.
/// </summary>
public sealed record HomeAssistantOptions : IValidatableObject
{
    public const string Section = "HomeAssistant";

    /// <summary>
    /// Publish retained discovery configs so each camera appears in Home Assistant as a device
    /// (<c>--home-assistant</c>). Default false (on in the demo).
    /// </summary>
    public bool Enabled { get; init; }

    /// <summary>
    /// Home Assistant's discovery prefix, as set in its MQTT integration. Default <c>homeassistant</c>.
    /// </summary>
    public string DiscoveryPrefix { get; init; } = "homeassistant";

    /// <summary>
    /// A camera whose detections stopped this long ago is retired: its discovery configs are removed (empty retained
    /// payloads) and its device leaves Home Assistant. It comes back when its detections do. Default 1 d.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan RetireAfter { get; init; } = TimeSpan.FromDays(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsValidPrefix(DiscoveryPrefix))
            yield return new ValidationResult(
                $"HomeAssistant:DiscoveryPrefix '{DiscoveryPrefix}' is not a usable topic prefix: use letters, " +
                "digits, '-' and '_', levels separated by '/' (e.g. homeassistant).",
                [nameof(DiscoveryPrefix)]);
    }

    /// <summary>
    /// Levels of letters, digits, '-' and '_' separated by single '/': no wildcards, no empty level, nothing a
    /// subscriber would read differently.
    /// </summary>
    public static bool IsValidPrefix(string prefix) =>
        !string.IsNullOrEmpty(prefix) && prefix.Split('/').All(level =>
            level.Length > 0 && level.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
}
