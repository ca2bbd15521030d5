using System.Globalization;

namespace EdgeEvents.Bench.Load;

/// <summary>CPU time and memory of one process, read from <c>/proc/{pid}</c> (Linux).</summary>
public sealed class ProcessMeter(string name, int pid)
{
    // USER_HZ: the unit of utime/stime in /proc/{pid}/stat; 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100;

    private double _cpuAtStart;
    private DateTime _wallAtStart;

    public string Name { get; } = name;
    public int Pid { get; } = pid;

    /// <summary>Starts a measurement window.</summary>
    public void Start()
    {
        _cpuAtStart = CpuSeconds(Pid);
        _wallAtStart = DateTime.UtcNow;
    }

    /// <summary>CPU % since <see cref="Start"/> (100 % = one core busy) and peak resident set so far (VmHWM).</summary>
    public ComponentUsage Stop() => new(Name,
        100 * (CpuSeconds(Pid) - _cpuAtStart) / (DateTime.UtcNow - _wallAtStart).TotalSeconds,
        StatusKb(Pid, "VmHWM") / 1024);

    /// <summary>User + system CPU seconds of the process (fields 14 and 15 of /proc/{pid}/stat).</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may contain spaces; the fields after it start at field 3 (state).
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    /// <summary>A kB value of /proc/{pid}/status, e.g. VmHWM (peak resident set) or VmRSS.</summary>
    public static double StatusKb(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}

/// <summary>One process's CPU % over a step (100 % = one core) and its peak resident set since it started.</summary>
public sealed record ComponentUsage(string Name, double CpuPercent, double PeakRssMb);
