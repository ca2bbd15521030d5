using EdgeEvents.Pipeline.Hosting;

namespace EdgeEvents.Scene;

/// <summary>
/// Decides which cameras this worker tracks: the configured camera list (all when empty) intersected with
/// this worker's partition.
/// </summary>
public sealed class CameraOwnership(SceneOptions options)
{
    private readonly HashSet<string> _cameras = new(options.Cameras, StringComparer.Ordinal);
    private readonly CameraPartition _partition = options.ParsePartition();

    public bool Owns(string camera) => (_cameras.Count == 0 || _cameras.Contains(camera)) && _partition.Owns(camera);
}
