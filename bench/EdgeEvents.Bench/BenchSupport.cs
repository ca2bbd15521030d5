namespace EdgeEvents.Bench;

/// <summary>What the benchmarks share: reading their command-line options and the median of their rounds.</summary>
internal static class BenchSupport
{
    /// <summary>The value following <paramref name="name"/> on the command line, or null when it is not there.</summary>
    public static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
