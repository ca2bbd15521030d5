using EdgeEvents.Manifests.Tests.Infrastructure;
using k8s;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// Every deployable kustomization renders and is made of valid Kubernetes objects that refer to each other correctly.
/// </summary>
public sealed class Rendering_Tests
{
    public static TheoryData<string> Deployables => Rendered.DeployableData;

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Overlay_renders_into_objects_that_load_strictly_as_Kubernetes_types(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        Assert.NotEmpty(rendered.Objects);
        var kinds = rendered.Objects.Cast<IKubernetesObject>().Select(o => o.Kind).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "Namespace", "ConfigMap", "Deployment", "StatefulSet", "Service", "PersistentVolumeClaim"
        }, kinds);
        var roles = rendered.Containers
            .Where(c => PodFacts.IsEdgeEvents(c.Container))
            .Select(c => PodFacts.Role(c.Container))
            .ToHashSet();
        Assert.Equal(new HashSet<string> { "camera", "detector", "scene", "llm" }, roles);
    }

    [RequiresFact("kubectl")]
    public void The_strict_loader_rejects_unknown_fields_and_wrong_types()
    {
        // The check the other tests rely on, shown failing on the two mistakes it exists to catch.
        const string unknownField = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n";
        const string wrongType = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n";
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(unknownField, strict: true));
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(wrongType, strict: true));
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Every_object_lives_in_the_edgeevents_namespace_and_is_labelled_part_of_it(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        var problems = new List<string>();
        foreach (var o in rendered.Objects.Cast<IKubernetesObject<V1ObjectMeta>>())
        {
            if (o is not V1Namespace && o.Metadata.NamespaceProperty != "edgeevents")
                problems.Add($"{o.Kind}/{o.Metadata.Name} is in namespace '{o.Metadata.NamespaceProperty}'");
            if (PodFacts.Label(o.Metadata.Labels, "app.kubernetes.io/part-of") != "edgeevents")
                problems.Add($"{o.Kind}/{o.Metadata.Name} lacks app.kubernetes.io/part-of=edgeevents");
        }
        // The greenboot check finds pods by this label.
        foreach (var w in rendered.Workloads)
        {
            if (PodFacts.Label(w.PodMetadata.Labels, "app.kubernetes.io/part-of") != "edgeevents")
                problems.Add($"pods of {w} lack app.kubernetes.io/part-of=edgeevents");
        }
        Expect.NoProblems(problems);
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Every_ConfigMap_volume_claim_Service_and_autoscaler_reference_resolves(string overlay)
    {
        var rendered = Rendered.Of(overlay);
        var configMaps = rendered.All<V1ConfigMap>().Select(c => c.Metadata.Name).ToHashSet();
        var claims = rendered.All<V1PersistentVolumeClaim>().Select(c => c.Metadata.Name).ToHashSet();
        var services = rendered.All<V1Service>().ToList();

        var problems = new List<string>();
        foreach (var w in rendered.Workloads)
        {
            var statefulSet = rendered.All<V1StatefulSet>().SingleOrDefault(s => s.Metadata.Name == w.Name);
            var templates = statefulSet?.Spec.VolumeClaimTemplates?.Select(t => t.Metadata.Name).ToHashSet() ?? [];
            foreach (var volume in w.Pod.Volumes ?? [])
            {
                if (volume.ConfigMap is { } cm && !configMaps.Contains(cm.Name))
                    problems.Add($"{w}: volume {volume.Name} needs ConfigMap {cm.Name}");
                if (volume.PersistentVolumeClaim is { } pvc && !claims.Contains(pvc.ClaimName))
                    problems.Add($"{w}: volume {volume.Name} needs claim {pvc.ClaimName}");
                foreach (var source in volume.Projected?.Sources ?? [])
                {
                    if (source.ConfigMap is { } pcm && !configMaps.Contains(pcm.Name))
                        problems.Add($"{w}: volume {volume.Name} needs ConfigMap {pcm.Name}");
                }
            }
            foreach (var c in w.Pod.Containers)
            {
                foreach (var from in c.EnvFrom ?? [])
                {
                    if (from.ConfigMapRef is { } r && !configMaps.Contains(r.Name))
                        problems.Add($"{w}/{c.Name}: envFrom needs ConfigMap {r.Name}");
                }
                foreach (var mount in c.VolumeMounts ?? [])
                {
                    if (w.Pod.Volumes?.Any(v => v.Name == mount.Name) != true && !templates.Contains(mount.Name))
                        problems.Add($"{w}/{c.Name}: mount {mount.MountPath} names no volume {mount.Name}");
                }
            }
        }
        foreach (var s in rendered.All<V1StatefulSet>())
        {
            if (services.All(svc => svc.Metadata.Name != s.Spec.ServiceName))
                problems.Add($"StatefulSet/{s.Metadata.Name}: no Service {s.Spec.ServiceName}");
        }
        foreach (var svc in services)
        {
            var selected = rendered.Workloads
                .Where(w => svc.Spec.Selector.All(l => PodFacts.Label(w.PodMetadata.Labels, l.Key) == l.Value))
                .ToList();
            if (selected.Count == 0) problems.Add($"Service/{svc.Metadata.Name} selects no pods");
            foreach (var port in svc.Spec.Ports.AsEnumerable())
            {
                foreach (var w in selected)
                {
                    if (w.Pod.Containers.All(c => PodFacts.ResolvePort(c, port.TargetPort ?? port.Port) is null))
                    {
                        problems.Add($"Service/{svc.Metadata.Name} port {port.Name}: " +
                            $"{w} declares no port {port.TargetPort?.Value ?? port.Port.ToString()}");
                    }
                }
            }
        }
        foreach (var hpa in rendered.All<V2HorizontalPodAutoscaler>())
        {
            var target = hpa.Spec.ScaleTargetRef;
            if (!rendered.Workloads.Any(w => w.Kind == target.Kind && w.Name == target.Name))
                problems.Add($"HPA/{hpa.Metadata.Name} targets missing {target.Kind}/{target.Name}");
        }
        Expect.NoProblems(problems);
    }

    [RequiresFact("kubectl")]
    public void MicroShift_entry_point_deploys_exactly_the_microshift_overlay()
    {
        Assert.Equal(Rendered.Of(Path.Combine("overlays", "microshift")).Yaml, Rendered.Of(".").Yaml);
    }

    [RequiresFact("kubectl")]
    public void MicroShift_publishes_the_broker_on_the_node_and_runs_no_autoscaler()
    {
        var rendered = Rendered.Of(Path.Combine("overlays", "microshift"));

        Assert.Equal("LoadBalancer", rendered.Single<V1Service>("broker").Spec.Type);
        // MicroShift has no metrics server: an HPA there would never act.
        Assert.Empty(rendered.All<V2HorizontalPodAutoscaler>());
    }

    [RequiresFact("kubectl")]
    public void Cpu_overlay_autoscales_detectors_on_cpu_between_one_and_a_few_replicas()
    {
        var hpa = Assert.Single(Rendered.Of(Path.Combine("overlays", "cpu")).All<V2HorizontalPodAutoscaler>());

        Assert.Equal(("StatefulSet", "detector"), (hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        var metric = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal(("cpu", "Utilization"), (metric.Resource.Name, metric.Resource.Target.Type));
        Assert.InRange(hpa.Spec.MinReplicas ?? 1, 1, hpa.Spec.MaxReplicas);
    }
}
