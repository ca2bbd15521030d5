using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Scene.HomeAssistant;

/// <summary>
/// Announces cameras to Home Assistant as the scene worker meets them: the device's entities when a camera is first
/// tracked, a count sensor when a label first appears on it, everything again after a reconnect (an embedded broker
/// restarts without its retained messages), and empty retained configs when a camera is retired. Called under the
/// scene worker's gate, so it needs no locking of its own.
/// </summary>
public sealed class DiscoveryPublisher(EdgeComponent component, HomeAssistantOptions options, ILogger logger)
{
    private readonly DiscoveryConfigs _configs = new(component.Topics, options);
    private readonly Dictionary<string, Announced> _cameras = new(StringComparer.Ordinal);

    /// <summary>Cameras currently announced.</summary>
    public int Cameras => _cameras.Count;

    /// <summary>A camera sent detections: announce it if it is new (or retired before).</summary>
    public async Task CameraSeenAsync(string camera, CancellationToken ct)
    {
        if (_cameras.ContainsKey(camera)) return;
        var announced = _cameras[camera] = new Announced();
        foreach (var config in _configs.Device(camera)) await PublishAsync(announced, config, ct);
        logger.LogInformation("Announced camera {Camera} to Home Assistant under {Prefix}",
            camera, options.DiscoveryPrefix);
    }

    /// <summary>A label was first tracked on a camera: its count sensor.</summary>
    public async Task LabelSeenAsync(string camera, string label, CancellationToken ct)
    {
        if (!_cameras.TryGetValue(camera, out var announced) || !announced.Labels.Add(label)) return;
        await PublishAsync(announced, _configs.LabelCount(camera, label), ct);
    }

    /// <summary>After a reconnect: every config again.</summary>
    public async Task RepublishAsync(CancellationToken ct)
    {
        foreach (var (camera, announced) in _cameras)
        {
            var labelCounts = announced.Labels.Select(l => _configs.LabelCount(camera, l));
            foreach (var config in _configs.Device(camera).Concat(labelCounts))
                await PublishAsync(announced, config, ct);
        }
    }

    /// <summary>
    /// Removes a camera's device from Home Assistant: an empty retained message on each of its config topics.
    /// </summary>
    public async Task RetireAsync(string camera, CancellationToken ct)
    {
        if (!_cameras.Remove(camera, out var announced)) return;
        foreach (var topic in announced.Topics)
            await component.Transport.PublishAsync(new OutgoingMessage(topic, ReadOnlyMemory<byte>.Empty)
            {
                Retain = true, Delivery = Delivery.AtLeastOnce,
            }, ct);
        logger.LogInformation("Retired camera {Camera} from Home Assistant ({Count} entities removed)",
            camera, announced.Topics.Count);
    }

    private async Task PublishAsync(Announced announced, DiscoveryConfig config, CancellationToken ct)
    {
        announced.Topics.Add(config.Topic);
        var payload = System.Text.Encoding.UTF8.GetBytes(config.Payload.ToJsonString());
        await component.Transport.PublishAsync(new OutgoingMessage(config.Topic, payload)
        {
            ContentType = ContentTypes.Json,
            Retain = true,
            Delivery = Delivery.AtLeastOnce,
        }, ct);
    }

    private sealed class Announced
    {
        public HashSet<string> Labels { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);
    }
}
