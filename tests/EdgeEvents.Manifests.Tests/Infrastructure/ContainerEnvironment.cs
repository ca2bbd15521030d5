using System.Text.RegularExpressions;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// The environment a container of a rendered workload starts with, computed as the kubelet does: ConfigMaps from
/// <c>envFrom</c> in order, then <c>env</c> entries, each expanding <c>$(NAME)</c> references to earlier variables.
/// </summary>
public static partial class ContainerEnvironment
{
    /// <summary>The pod-index label a StatefulSet pod gets (Kubernetes 1.28+).</summary>
    public const string PodIndexLabel = "apps.kubernetes.io/pod-index";

    /// <param name="ordinal">The pod's ordinal, for fields that read the pod-index label.</param>
    /// <param name="secrets">
    /// Secrets to read <c>secretKeyRef</c> values from; without them such values are placeholders.
    /// </param>
    public static IReadOnlyDictionary<string, string> Of(Rendered rendered, V1Container container, int ordinal = 0,
        IReadOnlyDictionary<string, V1Secret>? secrets = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container.EnvFrom ?? [])
        {
            if (source.ConfigMapRef is null)
            {
                throw new InvalidOperationException(
                    $"{container.Name}: only ConfigMap envFrom sources are expected, got {source}.");
            }
            var data = rendered.ConfigMap(source.ConfigMapRef.Name).Data ?? new Dictionary<string, string>();
            foreach (var (key, value) in data)
                env[(source.Prefix ?? "") + key] = value;
        }
        foreach (var variable in container.Env ?? [])
        {
            env[variable.Name] = variable switch
            {
                { Value: { } value } => Expand(value, env),
                { ValueFrom.FieldRef.FieldPath: var path } when path == $"metadata.labels['{PodIndexLabel}']" =>
                    ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture),
                { ValueFrom.FieldRef.FieldPath: var path } => $"<{path}>",
                { ValueFrom.SecretKeyRef: { } secret } => secrets is null
                    ? $"<secret {secret.Name}/{secret.Key}>"
                    : System.Text.Encoding.UTF8.GetString(secrets[secret.Name].Data[secret.Key]),
                { ValueFrom.ConfigMapKeyRef: { } map } => rendered.ConfigMap(map.Name).Data[map.Key],
                _ => throw new InvalidOperationException(
                    $"{container.Name}: env {variable.Name} has no value source the tests understand."),
            };
        }
        return env;
    }

    /// <summary>
    /// The configuration keys the edge-events host reads from this environment: variables prefixed <c>EDGEEVENTS_</c>,
    /// prefix removed, <c>__</c> read as the section separator (what AddEnvironmentVariables("EDGEEVENTS_") does).
    /// </summary>
    public static Dictionary<string, string?> ConfigurationKeys(IReadOnlyDictionary<string, string> env) =>
        env.Where(e => e.Key.StartsWith("EDGEEVENTS_", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(e => e.Key["EDGEEVENTS_".Length..].Replace("__", ":", StringComparison.Ordinal),
                e => (string?)e.Value, StringComparer.OrdinalIgnoreCase);

    // Kubernetes expands $(NAME) when NAME is defined earlier; $$(NAME) escapes; unknown references stay as written.
    private static string Expand(string value, IReadOnlyDictionary<string, string> env) =>
        Reference().Replace(value, m => m.Value.StartsWith("$$", StringComparison.Ordinal)
            ? m.Value[1..]
            : env.TryGetValue(m.Groups["name"].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"\$?\$\((?<name>[A-Za-z_][A-Za-z0-9_.-]*)\)")]
    private static partial Regex Reference();
}
