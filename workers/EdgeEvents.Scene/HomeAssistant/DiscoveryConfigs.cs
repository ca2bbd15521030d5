using System.Reflection;
using System.Text.Json.Nodes;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Scene.HomeAssistant;

/// <summary>
/// One retained discovery message: <c>{discovery prefix}/{component}/{node id}/{object id}/config</c> and its JSON.
/// </summary>
public sealed record DiscoveryConfig(string Topic, JsonObject Payload);

/// <summary>
/// The Home Assistant MQTT discovery configs of one camera, following Home Assistant's documented schema: topic
/// <c>&lt;discovery_prefix&gt;/&lt;component&gt;/[&lt;node_id&gt;/]&lt;object_id&gt;/config</c> (node id
/// <c>edgeevents_{camera}</c>), full key names, one <c>device</c> per camera, <c>availability</c> from the scene
/// worker's and the camera's <c>{prefix}/status/…</c> last wills (both must be online), stable <c>unique_id</c>s
/// built from prefix, camera and entity.
/// </summary>
public sealed class DiscoveryConfigs(TopicScheme topics, HomeAssistantOptions options)
{
    private static readonly string Version =
        typeof(DiscoveryConfigs).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()
            ?.InformationalVersion ?? "unknown";

    /// <summary>
    /// The entities every camera has: the snapshot camera, occupancy (a person present) and the last event.
    /// </summary>
    public IEnumerable<DiscoveryConfig> Device(string camera)
    {
        yield return Config("camera", camera, "snapshot", new JsonObject
        {
            ["name"] = "Snapshot",
            ["topic"] = topics.Snapshots(camera),
        });
        yield return Config("binary_sensor", camera, "occupancy", new JsonObject
        {
            ["name"] = "Occupancy",
            ["device_class"] = "occupancy",
            ["state_topic"] = topics.Scene(camera),
            ["value_template"] = "{{ 'ON' if (value_json.counts['person'] | default(0)) > 0 else 'OFF' }}",
            ["payload_on"] = "ON",
            ["payload_off"] = "OFF",
        });
        yield return Config("sensor", camera, "last_event", new JsonObject
        {
            ["name"] = "Last event",
            ["icon"] = "mdi:motion-sensor",
            ["state_topic"] = topics.Events(camera),
            ["value_template"] = "{{ value_json.type }} {{ value_json.label | default('') }}",
            // The whole event (track id, changes, before/after) as the entity's attributes.
            ["json_attributes_topic"] = topics.Events(camera),
        });
    }

    /// <summary>
    /// The count sensor of one object label on one camera (e.g. <c>person</c>: how many are in view).
    /// </summary>
    public DiscoveryConfig LabelCount(string camera, string label) =>
        Config("sensor", camera, $"{Slug(label)}_count", new JsonObject
        {
            ["name"] = $"{char.ToUpperInvariant(label[0])}{label[1..]} count",
            ["icon"] = "mdi:counter",
            ["state_topic"] = topics.Scene(camera),
            ["value_template"] =
                $"{{{{ value_json.counts['{label.Replace("'", "\\'", StringComparison.Ordinal)}'] | default(0) }}}}",
            ["state_class"] = "measurement",
        });

    /// <summary>
    /// A label as an object id: lower-case letters, digits and '_' (<c>traffic light</c> → <c>traffic_light</c>).
    /// </summary>
    public static string Slug(string label) =>
        string.Concat(label.Trim().ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    private DiscoveryConfig Config(string component, string camera, string objectId, JsonObject payload)
    {
        payload["unique_id"] = $"edgeevents_{topics.Prefix.Replace('/', '_')}_{camera}_{objectId}";
        payload["availability"] = new JsonArray(Availability(topics.Status(SceneWorker.Component)),
            Availability(topics.Status(camera)));
        payload["availability_mode"] = "all";
        payload["device"] = new JsonObject
        {
            ["identifiers"] = new JsonArray($"edgeevents_{topics.Prefix.Replace('/', '_')}_{camera}"),
            ["name"] = camera,
            ["manufacturer"] = "EdgeEvents",
            ["model"] = "Camera",
            ["sw_version"] = Version,
        };
        payload["origin"] = new JsonObject { ["name"] = "EdgeEvents", ["sw_version"] = Version };
        return new DiscoveryConfig($"{options.DiscoveryPrefix}/{component}/edgeevents_{camera}/{objectId}/config",
            payload);
    }

    private static JsonObject Availability(string topic) => new()
    {
        ["topic"] = topic,
        ["payload_available"] = StatusPayloads.Online,
        ["payload_not_available"] = StatusPayloads.Offline,
    };
}
