using System.Globalization;

namespace EdgeEvents.Bench;

/// <summary>CPU time and memory of a process, read from <c>/proc/{pid}</c> (Linux): the benchmarks' one
/// reader.</summary>
internal static class ProcFs
{
    // USER_HZ: the unit of utime/stime in /proc/{pid}/stat; 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>User + system CPU seconds of the process (fields 14 and 15 of /proc/{pid}/stat).</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may contain spaces; the fields after it start at field 3 (state).
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12],
            CultureInfo.InvariantCulture))
            / TicksPerSecond;
    }

    /// <summary>A kB value of /proc/{pid}/status, e.g. VmRSS (resident set now) or VmHWM (its peak).</summary>
    public static double StatusKb(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>A kB value of this process's /proc/self/status.</summary>
    public static double OwnStatusKb(string key) => StatusKb(Environment.ProcessId, key);
}
