using System.Globalization;
using System.Text;

namespace EdgeEvents.Pipeline.Hosting;

/// <summary>
/// <c>i/n</c>: the cameras whose stable hash (32-bit FNV-1a of the UTF-8 camera id) modulo <c>n</c> is <c>i</c>, so
/// <c>n</c> workers split the cameras and each camera stays on exactly one of them (per-camera order and tracking
/// need that affinity; shared subscriptions split per message instead). Every worker agrees on it across restarts and
/// machines.
/// </summary>
public readonly record struct CameraPartition(int Index, int Count)
{
    /// <summary><c>0/1</c>: every camera.</summary>
    public static CameraPartition All => new(0, 1);

    public bool Owns(string camera) => Count == 1 || Of(camera, Count) == Index;

    /// <summary>The partition (0 … <paramref name="count"/>−1) a camera belongs to.</summary>
    /// <remarks>Not <see cref="string.GetHashCode()"/>, which differs per process.</remarks>
    public static int Of(string camera, int count)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(camera))
            hash = (hash ^ b) * 16777619u;
        return (int)(hash % (uint)count);
    }

    public static bool TryParse(string? text, out CameraPartition partition)
    {
        partition = All;
        var parts = (text ?? "").Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count < 1 || index >= count)
            return false;
        partition = new(index, count);
        return true;
    }

    /// <exception cref="FormatException">Not <c>i/n</c> with 0 ≤ i &lt; n.</exception>
    public static CameraPartition Parse(string? text) =>
        TryParse(text, out var partition) ? partition : throw new FormatException(FormatError(text));

    public static string FormatError(string? text) => $"Partition '{text}' must be 'i/n' with 0 <= i < n, e.g. '0/2'.";

    public override string ToString() => $"{Index}/{Count}";
}
