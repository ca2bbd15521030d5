using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>Questions the policy tests ask of a container in its pod.</summary>
public static class PodFacts
{
    /// <summary>Containers running our own edge-events image (CPU or GPU variant).</summary>
    public static bool IsEdgeEvents(V1Container container) =>
        container.Image.Contains("/edgeevents/edge-events", StringComparison.Ordinal);

    /// <summary>The role subcommand an edge-events container runs (its first argument).</summary>
    public static string Role(V1Container container) =>
        container.Args?.FirstOrDefault()
            ?? throw new InvalidOperationException($"Container {container.Name} has no role argument.");

    /// <summary>
    /// The container port a probe or Service port refers to by number or by name, or null if it names no declared port.
    /// </summary>
    public static int? ResolvePort(V1Container container, IntOrString port) =>
        int.TryParse(port.Value, out var number)
            ? number
            : container.Ports?.FirstOrDefault(p => p.Name == port.Value)?.ContainerPort;

    /// <summary>The volume mount whose path contains <paramref name="path"/> (the deepest one), or null.</summary>
    public static V1VolumeMount? MountHolding(V1Container container, string path) =>
        (container.VolumeMounts ?? [])
            .Where(m => path == m.MountPath ||
                path.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal))
            .MaxBy(m => m.MountPath.Length);

    public static string? Label(IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) ? value : null;
}
