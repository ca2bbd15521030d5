using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EdgeEvents.Scene.Tests;

/// <summary>
/// Home Assistant's documented MQTT discovery schema for the platforms we publish (home-assistant.io/integrations/mqtt,
/// sensor.mqtt, binary_sensor.mqtt, camera.mqtt), full key names: what a config must have and may have.
/// </summary>
internal static partial class HomeAssistantSchema
{
    // Keys every MQTT entity accepts (the MQTT entity common schema).
    private static readonly string[] Common =
    [
        "availability", "availability_mode", "availability_template", "availability_topic", "default_entity_id",
        "device", "enabled_by_default", "encoding", "entity_category", "entity_picture", "icon",
        "json_attributes_template", "json_attributes_topic", "name", "object_id", "origin", "payload_available",
        "payload_not_available", "qos", "unique_id",
    ];

    private static readonly Dictionary<string, (string[] Required, string[] Optional)> Platforms = new()
    {
        ["sensor"] = (["state_topic"],
            ["device_class", "expire_after", "force_update", "last_reset_value_template", "options", "state_class",
             "suggested_display_precision", "unit_of_measurement", "value_template"]),
        ["binary_sensor"] = (["state_topic"],
            ["device_class", "expire_after", "force_update", "off_delay", "payload_off", "payload_on",
             "value_template"]),
        ["camera"] = (["topic"], ["image_encoding"]),
    };

    private static readonly string[] DeviceKeys =
    [
        "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model", "model_id", "name",
        "serial_number", "suggested_area", "sw_version", "via_device",
    ];

    private static readonly string[] AvailabilityKeys =
        ["topic", "payload_available", "payload_not_available", "value_template"];
    private static readonly string[] OriginKeys = ["name", "sw_version", "support_url"];
    private static readonly string[] StateClasses = ["measurement", "measurement_angle", "total", "total_increasing"];
    private static readonly string[] BinarySensorClasses =
        ["motion", "occupancy", "presence", "connectivity", "problem", "running"];

    /// <summary>
    /// The problems of one discovery message (empty when it follows the schema); <paramref name="component"/> comes
    /// from its topic.
    /// </summary>
    public static List<string> Check(string topic, JsonObject config, string discoveryPrefix, out string component)
    {
        var errors = new List<string>();
        var match = Regex.Match(topic, $"^{Regex.Escape(discoveryPrefix)}/(?<component>[a-z_]+)/" +
            "(?:(?<node>[a-zA-Z0-9_-]+)/)?(?<object>[a-zA-Z0-9_-]+)/config$");
        component = match.Groups["component"].Value;
        if (!match.Success) return [$"{topic}: not <discovery_prefix>/<component>/[<node_id>/]<object_id>/config"];
        if (!Platforms.TryGetValue(component, out var platform)) return [$"{topic}: unexpected component {component}"];

        foreach (var key in platform.Required.Where(k => config[k] is null))
            errors.Add($"{topic}: required '{key}' missing");
        foreach (var (key, _) in config.Where(p =>
            !Common.Contains(p.Key) && !platform.Required.Contains(p.Key) && !platform.Optional.Contains(p.Key)))
            errors.Add($"{topic}: '{key}' is not a {component} key");
        if (config["availability"] is not null && config["availability_topic"] is not null)
            errors.Add($"{topic}: availability and availability_topic must not be used together");
        foreach (var entry in config["availability"]?.AsArray() ?? [])
        {
            if (entry?["topic"] is null) errors.Add($"{topic}: an availability entry has no topic");
            errors.AddRange(Unknown(topic, "availability", entry!.AsObject(), AvailabilityKeys));
        }
        if ((string?)config["availability_mode"] is { } mode && mode is not ("all" or "any" or "latest"))
            errors.Add($"{topic}: availability_mode '{mode}'");
        if (config["device"] is JsonObject device)
        {
            if (device["identifiers"] is null && device["connections"] is null)
                errors.Add($"{topic}: device needs identifiers or connections");
            errors.AddRange(Unknown(topic, "device", device, DeviceKeys));
        }
        if (config["origin"] is JsonObject origin)
        {
            if (origin["name"] is null) errors.Add($"{topic}: origin needs a name");
            errors.AddRange(Unknown(topic, "origin", origin, OriginKeys));
        }
        if (string.IsNullOrEmpty((string?)config["unique_id"]))
            errors.Add($"{topic}: no unique_id (needed for a device and for editing in the UI)");
        if (component == "sensor" && (string?)config["state_class"] is { } stateClass &&
            !StateClasses.Contains(stateClass))
            errors.Add($"{topic}: state_class '{stateClass}'");
        if (component == "binary_sensor" && (string?)config["device_class"] is { } deviceClass &&
            !BinarySensorClasses.Contains(deviceClass))
            errors.Add($"{topic}: binary_sensor device_class '{deviceClass}'");
        foreach (var topicKey in new[] { "state_topic", "topic", "json_attributes_topic" })
            if ((string?)config[topicKey] is { } t && t.IndexOfAny(['+', '#']) >= 0)
                errors.Add($"{topic}: {topicKey} '{t}' has a wildcard");
        return errors;
    }

    private static IEnumerable<string> Unknown(string topic, string block, JsonObject value, string[] allowed) =>
        value.Where(p => !allowed.Contains(p.Key)).Select(p => $"{topic}: '{p.Key}' is not a {block} key");
}
