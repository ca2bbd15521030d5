using System.Text;

namespace EdgeEvents.Scene;

/// <summary>
/// Decides which cameras this worker tracks: the configured camera list (all when empty) intersected with this
/// worker's partition. The partition uses a stable hash, so every worker agrees on it across restarts and machines.
/// </summary>
public sealed class CameraOwnership(SceneOptions options)
{
    private readonly HashSet<string> _cameras = new(options.Cameras, StringComparer.Ordinal);
    private readonly (int Index, int Count) _partition = options.ParsePartition();

    public bool Owns(string camera) =>
        (_cameras.Count == 0 || _cameras.Contains(camera)) && PartitionOf(camera, _partition.Count) == _partition.Index;

    /// <summary>The partition (0 … <paramref name="count"/>−1) a camera belongs to: 32-bit FNV-1a of its UTF-8 id, modulo count.</summary>
    /// <remarks>Not <see cref="string.GetHashCode()"/>, which differs per process.</remarks>
    public static int PartitionOf(string camera, int count)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(camera))
            hash = (hash ^ b) * 16777619u;
        return (int)(hash % (uint)count);
    }
}
