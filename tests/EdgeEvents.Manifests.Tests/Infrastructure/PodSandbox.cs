using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// A container of a rendered pod prepared to run as a local process: each volume mount becomes a temporary folder
/// filled as the kubelet fills it (ConfigMap and Secret keys, or the <c>items</c> chosen, as files; claims and
/// emptyDirs empty unless the test supplies a folder), and container paths are mapped to those folders.
/// </summary>
public sealed class PodSandbox
{
    private readonly List<(string MountPath, string HostPath)> _mounts = [];

    /// <param name="root">Temporary folder the mounts are made in.</param>
    /// <param name="claims">
    /// Host folders standing for named PersistentVolumeClaims (e.g. the models volume); others start empty.
    /// </param>
    public PodSandbox(string root, Rendered rendered, Workload workload, V1Container container,
        IReadOnlyDictionary<string, V1Secret> secrets, IReadOnlyDictionary<string, string> claims)
    {
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var volume = workload.Pod.Volumes?.SingleOrDefault(v => v.Name == mount.Name);
            var host = volume?.PersistentVolumeClaim is { } claim && claims.TryGetValue(claim.ClaimName, out var given)
                ? given
                : Directory.CreateDirectory(Path.Combine(root, workload.Name, mount.Name)).FullName;
            // Writable by anyone, as fsGroup makes a volume writable for the pod's arbitrary UID (and mosquitto started
            // as root here drops to its own user).
            File.SetUnixFileMode(host, (UnixFileMode)0x1FF);
            File.SetUnixFileMode(Path.GetDirectoryName(host)!, (UnixFileMode)0x1ED);
            if (volume?.ConfigMap is { } map)
            {
                Fill(host, rendered.ConfigMap(map.Name).Data.ToDictionary(e => e.Key,
                    e => System.Text.Encoding.UTF8.GetBytes(e.Value)), map.Items);
            }
            if (volume?.Secret is { } secret)
            {
                var data = secrets.TryGetValue(secret.SecretName, out var s)
                    ? s.Data
                    : throw new InvalidOperationException($"No Secret {secret.SecretName}.");
                Fill(host, data, secret.Items);
            }
            foreach (var source in volume?.Projected?.Sources ?? [])
            {
                if (source.ConfigMap is { } pmap)
                {
                    Fill(host, rendered.ConfigMap(pmap.Name).Data.ToDictionary(e => e.Key,
                        e => System.Text.Encoding.UTF8.GetBytes(e.Value)), pmap.Items);
                }
            }
            _mounts.Add((mount.MountPath.TrimEnd('/'), host));
        }
        // Deepest mounts first, so /a/b maps before /a.
        _mounts.Sort((x, y) => y.MountPath.Length.CompareTo(x.MountPath.Length));
    }

    /// <summary>Each volume's mount path in the container and the host folder standing for it, deepest first.</summary>
    public IReadOnlyList<(string MountPath, string HostPath)> Mounts => _mounts;

    /// <summary>The host path of a path inside the container; unchanged if no volume holds it.</summary>
    public string Map(string containerPath)
    {
        foreach (var (mountPath, host) in _mounts)
        {
            if (containerPath == mountPath) return host;
            if (containerPath.StartsWith(mountPath + "/", StringComparison.Ordinal))
                return host + containerPath[mountPath.Length..];
        }
        return containerPath;
    }

    /// <summary>
    /// Every mount path in <paramref name="text"/> (a configuration file) replaced by its host folder.
    /// </summary>
    public string MapText(string text) =>
        _mounts.Aggregate(text, (t, m) => t.Replace(m.MountPath + "/", m.HostPath + "/", StringComparison.Ordinal));

    private static void Fill(string folder, IDictionary<string, byte[]> data, IList<V1KeyToPath>? items)
    {
        var files = items is { Count: > 0 } ? items.Select(i => (i.Key, i.Path)) : data.Keys.Select(k => (k, k));
        foreach (var (key, path) in files)
            File.WriteAllBytes(Path.Combine(folder, path), data[key]);
    }
}
