using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// A pod template of a rendered workload (Deployment, StatefulSet, or a bare Pod), with its replica count.
/// </summary>
public sealed record Workload(string Kind, string Name, int Replicas, V1ObjectMeta PodMetadata, V1PodSpec Pod)
{
    public override string ToString() => $"{Kind}/{Name}";
}

/// <summary>
/// The output of <c>kubectl kustomize</c> for one kustomization, loaded with KubernetesClient's strict YAML loader:
/// an unknown field or a value of the wrong type anywhere fails the load.
/// </summary>
public sealed class Rendered
{
    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new();

    public required string Kustomization { get; init; }
    public required string Yaml { get; init; }
    public required IReadOnlyList<object> Objects { get; init; }

    /// <summary>
    /// Every kustomization a user deploys: each folder in manifests/overlays, and the MicroShift entry point.
    /// </summary>
    public static IReadOnlyList<string> Deployables { get; } =
    [
        .. Directory.GetDirectories(Path.Combine(Repository.Manifests, "overlays"))
            .Select(d => Path.GetRelativePath(Repository.Manifests, d))
            .Order(StringComparer.Ordinal),
        ".",
    ];

    public static TheoryData<string> DeployableData => [.. Deployables];

    /// <summary>Renders a kustomization under manifests/ (cached: the files do not change during a run).</summary>
    public static Rendered Of(string kustomization) =>
        Cache.GetOrAdd(kustomization,
            k => new Lazy<Rendered>(() => Load(Path.Combine(Repository.Manifests, k), k))).Value;

    /// <summary>
    /// The one-off manifests in manifests/tools (applied by hand, not through kustomize), loaded strictly.
    /// </summary>
    public static Rendered Tools { get; } = LoadTools();

    private static Rendered LoadTools()
    {
        var files = Directory.GetFiles(Path.Combine(Repository.Manifests, "tools"), "*.yaml")
            .Order(StringComparer.Ordinal)
            .ToList();
        var yaml = string.Join("\n---\n", files.Select(File.ReadAllText));
        var objects = KubernetesYaml.LoadAllFromString(yaml, strict: true);
        return new Rendered { Kustomization = "tools", Yaml = yaml, Objects = objects };
    }

    /// <summary>Renders a kustomization folder anywhere (e.g. a temporary copy).</summary>
    public static Rendered Load(string directory, string? label = null)
    {
        var result = Tool.Run(Tool.Require("kubectl"), ["kustomize", directory]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"kubectl kustomize {directory} failed ({result.ExitCode}):\n{result.Stderr}");
        }
        var objects = KubernetesYaml.LoadAllFromString(result.Stdout, strict: true);
        return new Rendered { Kustomization = label ?? directory, Yaml = result.Stdout, Objects = objects };
    }

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Single<T>(string name) where T : IMetadata<V1ObjectMeta> =>
        All<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new InvalidOperationException($"{Kustomization}: no {typeof(T).Name} named {name}.");

    public V1ConfigMap ConfigMap(string name) => Single<V1ConfigMap>(name);

    public IEnumerable<Workload> Workloads =>
        Objects.Select(o => o switch
        {
            V1Deployment d => new Workload("Deployment", d.Metadata.Name, d.Spec.Replicas ?? 1,
                d.Spec.Template.Metadata, d.Spec.Template.Spec),
            V1StatefulSet s => new Workload("StatefulSet", s.Metadata.Name, s.Spec.Replicas ?? 1,
                s.Spec.Template.Metadata, s.Spec.Template.Spec),
            V1Pod p => new Workload("Pod", p.Metadata.Name, 1, p.Metadata, p.Spec),
            _ => null,
        }).OfType<Workload>();

    public Workload Workload(string name) =>
        Workloads.SingleOrDefault(w => w.Name == name)
        ?? throw new InvalidOperationException($"{Kustomization}: no workload {name}.");

    /// <summary>Every container with the workload it belongs to.</summary>
    public IEnumerable<(Workload Workload, V1Container Container)> Containers =>
        Workloads.SelectMany(w => (w.Pod.InitContainers ?? []).Concat(w.Pod.Containers).Select(c => (w, c)));
}
