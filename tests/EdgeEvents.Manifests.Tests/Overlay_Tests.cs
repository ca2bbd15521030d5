using EdgeEvents.Manifests.Tests.Infrastructure;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests;

/// <summary>What each overlay changes: the GPU overlay's devices and providers, the NATS overlay's broker.</summary>
public sealed class Overlay_Tests
{
    private static readonly string Gpu = Path.Combine("overlays", "gpu");
    private static readonly string Nats = Path.Combine("overlays", "nats");

    private static IReadOnlyDictionary<string, string?> Keys(Rendered rendered, string workload) =>
        ContainerEnvironment.ConfigurationKeys(
            ContainerEnvironment.Of(rendered, rendered.Workload(workload).Pod.Containers.Single()));

    [RequiresFact("kubectl")]
    public void Gpu_overlay_gives_detector_and_llm_one_gpu_each_on_the_cuda_image_and_nothing_else_a_gpu()
    {
        var rendered = Rendered.Of(Gpu);

        foreach (var (w, c) in rendered.Containers)
        {
            var gpus = c.Resources.Limits.TryGetValue("nvidia.com/gpu", out var q) ? q.ToInt32() : 0;
            if (w.Name is "detector" or "llm")
            {
                Assert.Equal(1, gpus);
                Assert.Contains("/edgeevents/edge-events-gpu:", c.Image, StringComparison.Ordinal);
                Assert.Contains(w.Pod.Tolerations, t => t.Key == "nvidia.com/gpu");
            }
            else
            {
                Assert.Equal(0, gpus);
                Assert.DoesNotContain("-gpu:", c.Image, StringComparison.Ordinal);
            }
        }
        // One detector per GPU unless the device plugin shares it.
        Assert.Equal(1, rendered.Workload("detector").Replicas);
    }

    [RequiresFact("kubectl")]
    public void Gpu_overlay_puts_the_cuda_provider_first_with_cpu_fallback_and_offloads_llm_layers()
    {
        var rendered = Rendered.Of(Gpu);

        // Providers is one comma-separated list, tried in order; a provider whose libraries do not load is skipped.
        Assert.Equal(["CUDA", "CPU"], Keys(rendered, "detector")["Detector:Providers"]!.Split(','));
        Assert.True(int.Parse(Keys(rendered, "llm")["Llm:GpuLayerCount"]!,
            System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [RequiresTheory("kubectl")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    [InlineData("nats")]
    [InlineData("microshift")]
    public void Each_detector_keeps_its_models_rollout_state_and_engine_cache_on_a_claim_of_its_own(string overlay)
    {
        var rendered = Rendered.Of(Path.Combine("overlays", overlay));
        var detector = rendered.Single<V1StatefulSet>("detector");
        var keys = Keys(rendered, "detector");

        Assert.Equal("/data", keys["Detector:DataPath"]);
        var mount = Assert.Single(detector.Spec.Template.Spec.Containers.Single().VolumeMounts,
            m => m.MountPath == "/data");
        Assert.NotEqual(true, mount.ReadOnlyProperty);
        // A claim per pod (volumeClaimTemplates): two detectors never share one model folder and state file.
        Assert.Contains(detector.Spec.VolumeClaimTemplates, c => c.Metadata.Name == mount.Name);
        Assert.DoesNotContain(detector.Spec.Template.Spec.Volumes, v => v.Name == mount.Name);
        if (overlay == "gpu") Assert.Equal("/data/trt-cache", keys["Detector:TensorRt:EngineCachePath"]);
    }

    [RequiresTheory("kubectl")]
    [InlineData("cpu")]
    [InlineData("nats")]
    [InlineData("microshift")]
    public void Cpu_overlays_request_no_gpu_and_use_the_cpu_image(string overlay)
    {
        var rendered = Rendered.Of(Path.Combine("overlays", overlay));

        Assert.All(rendered.Containers, x => Assert.False(x.Container.Resources.Limits.ContainsKey("nvidia.com/gpu"),
            $"{x.Workload} requests a GPU"));
        Assert.All(rendered.Containers,
            x => Assert.DoesNotContain("-gpu:", x.Container.Image, StringComparison.Ordinal));
    }

    [RequiresFact("kubectl")]
    public void Nats_overlay_runs_nats_server_with_jetstream_and_its_mqtt_gateway_instead_of_mosquitto()
    {
        var rendered = Rendered.Of(Nats);

        Assert.DoesNotContain(rendered.Workloads, w => w.Name == "mosquitto");
        var nats = rendered.Workload("nats");
        var config = rendered.All<V1ConfigMap>()
            .Single(c => c.Metadata.Name.StartsWith("nats-config", StringComparison.Ordinal))
            .Data["nats.conf"];
        Assert.Contains("jetstream", config, StringComparison.Ordinal);
        Assert.Contains("mqtt", config, StringComparison.Ordinal);
        // Workers speak NATS; MQTT 3.1.1 clients (cameras, dashboards) use the gateway port of the same Service.
        Assert.All(rendered.Containers.Where(x => PodFacts.IsEdgeEvents(x.Container)), x =>
        {
            var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, x.Container));
            Assert.StartsWith("nats://", keys["Transport:Broker"], StringComparison.Ordinal);
        });
        var ports = rendered.Single<V1Service>("broker").Spec.Ports.Select(p => p.Port).ToHashSet();
        Assert.Superset(new HashSet<int> { 4222, 1883 }, ports);
        Assert.Equal("StatefulSet", nats.Kind);
    }

    [RequiresTheory("kubectl")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    [InlineData("microshift")]
    public void Mosquitto_overlays_keep_broker_state_on_a_volume(string overlay)
    {
        var rendered = Rendered.Of(Path.Combine("overlays", overlay));
        var mosquitto = rendered.Single<V1StatefulSet>("mosquitto");
        var configMap = mosquitto.Spec.Template.Spec.Volumes.Single(v => v.Name == "config").ConfigMap;
        var conf = rendered.ConfigMap(configMap.Name).Data["mosquitto.conf"];

        Assert.Contains("persistence true", conf, StringComparison.Ordinal);
        Assert.Contains("allow_anonymous false", conf, StringComparison.Ordinal);
        var locationLine = conf.Split('\n')
            .Single(l => l.StartsWith("persistence_location ", StringComparison.Ordinal));
        var location = locationLine["persistence_location ".Length..].Trim();
        var mount = PodFacts.MountHolding(mosquitto.Spec.Template.Spec.Containers.Single(), location);
        Assert.NotNull(mount);
        Assert.Contains(mosquitto.Spec.VolumeClaimTemplates, t => t.Metadata.Name == mount.Name);
    }
}
