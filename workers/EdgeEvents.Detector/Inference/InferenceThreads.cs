using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector.Inference;

/// <summary>
/// Keeps the model ahead of everything else in the process on Linux (<c>Detector:OtherThreadsNice</c> &gt; 0).
/// ONNX Runtime splits an operator across its intra-op threads and the calling thread waits (spinning) for the slowest
/// part, so when a JPEG decode, a broker hand-off or the GC takes a core from one intra-op thread the whole run waits,
/// with the other core spinning: on 2 cores the model ran ~10 % slower inside the worker than alone. Here every thread
/// of the process except the protected ones (each session's run thread and its intra-op pool) gets that nice value: it
/// still has the CPU the model leaves idle between parallel sections, but no longer delays them. Threads started later
/// are lowered by a re-check every <see cref="Period"/>. Raising a nice value back needs a privilege, so a thread is
/// lowered only after every run thread has protected itself.
/// </summary>
internal sealed class InferenceThreads : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);
    private const int PrioProcess = 0;

    private readonly int _nice;
    private readonly int _runThreads;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly HashSet<int> _protected = [];
    private readonly HashSet<int> _lowered = [];
    private readonly Timer _timer;
    private int _registeredRunThreads;
    private bool _failed;

    private readonly Func<IEnumerable<int>> _threads;

    /// <param name="nice">Nice value (1–19) for the other threads.</param>
    /// <param name="runThreads">Run threads that will call <see cref="ProtectCurrentThread"/> before anything is lowered.</param>
    /// <param name="threads">The threads to consider; the whole process (<see cref="Snapshot"/>) unless a test narrows it.</param>
    public InferenceThreads(int nice, int runThreads, ILogger logger, Func<IEnumerable<int>>? threads = null)
    {
        _nice = nice;
        _runThreads = runThreads;
        _logger = logger;
        _threads = threads ?? Snapshot;
        _timer = new Timer(_ => LowerOthers(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Whether this platform lets a thread's priority be set by its id (Linux).</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>Ids of the process's threads now (empty where <see cref="Supported"/> is false).</summary>
    public static HashSet<int> Snapshot()
    {
        if (!Supported) return [];
        var ids = new HashSet<int>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            if (int.TryParse(Path.GetFileName(task), out var id)) ids.Add(id);
        return ids;
    }

    /// <summary>Protects threads that appeared while a session was created (its intra-op pool).</summary>
    public void Protect(IEnumerable<int> threadIds)
    {
        lock (_lock) _protected.UnionWith(threadIds);
    }

    /// <summary>Protects the calling thread (a session's run thread); the last expected one starts the lowering.</summary>
    public void ProtectCurrentThread()
    {
        if (!Supported) return;
        lock (_lock)
        {
            _protected.Add(CurrentThreadId());
            if (++_registeredRunThreads == _runThreads) _timer.Change(TimeSpan.Zero, Period);
        }
    }

    private void LowerOthers()
    {
        lock (_lock)
        {
            if (_failed) return;
            var current = _threads().ToHashSet();
            _lowered.IntersectWith(current);
            var lowered = 0;
            foreach (var id in current)
            {
                if (_protected.Contains(id) || _lowered.Contains(id)) continue;
                // Fails for a thread that has just exited (ESRCH); anything else means it cannot work here.
                if (setpriority(PrioProcess, id, _nice) != 0 && Marshal.GetLastPInvokeError() != Esrch)
                {
                    _failed = true;
                    _logger.LogWarning("Could not lower thread {Thread} to nice {Nice} (errno {Errno}); the other threads keep their priority",
                        id, _nice, Marshal.GetLastPInvokeError());
                    return;
                }
                _lowered.Add(id);
                lowered++;
            }
            if (lowered > 0)
                _logger.LogDebug("Lowered {Count} thread(s) to nice {Nice}; {Protected} inference thread(s) keep their priority", lowered, _nice, _protected.Count);
        }
    }

    /// <summary>The calling thread's kernel id (what /proc/self/task lists).</summary>
    public static int CurrentThreadId() => gettid();

    public void Dispose() => _timer.Dispose();

    private const int Esrch = 3;

    [DllImport("libc", SetLastError = true)]
    private static extern int setpriority(int which, int who, int prio);

    [DllImport("libc")]
    private static extern int gettid();
}
