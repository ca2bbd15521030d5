namespace EdgeEvents.Bench.Load;

/// <summary>CPU time and memory of one process, over a measurement window.</summary>
public sealed class ProcessMeter(string name, int pid)
{
    private double _cpuAtStart;
    private DateTime _wallAtStart;

    public string Name { get; } = name;
    public int Pid { get; } = pid;

    /// <summary>Starts a measurement window.</summary>
    public void Start()
    {
        _cpuAtStart = ProcFs.CpuSeconds(Pid);
        _wallAtStart = DateTime.UtcNow;
    }

    /// <summary>CPU % since <see cref="Start"/> (100 % = one core busy) and peak resident set so far (VmHWM).</summary>
    public ComponentUsage Stop() => new(Name,
        100 * (ProcFs.CpuSeconds(Pid) - _cpuAtStart) / (DateTime.UtcNow - _wallAtStart).TotalSeconds,
        ProcFs.StatusKb(Pid, "VmHWM") / 1024);
}

/// <summary>One process's CPU % over a step (100 % = one core) and its peak resident set since it started.</summary>
public sealed record ComponentUsage(string Name, double CpuPercent, double PeakRssMb);
