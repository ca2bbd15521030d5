using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace EdgeEvents.Detector.Inference;

/// <summary>
/// The Linux nice value of the calling thread (on Linux a priority belongs to a thread, and a thread inherits its
/// creator's, which is how ONNX Runtime's intra-op threads get the value of the thread that creates the session).
/// Lowering a nice value (raising the priority) needs CAP_SYS_NICE or a raised RLIMIT_NICE; raising it does not.
/// </summary>
internal static partial class ThreadNice
{
    private const int PriorityProcess = 0; // PRIO_PROCESS: with a thread id, that one thread
    private const int PermissionDenied = 13, NotPermitted = 1; // EACCES, EPERM
    private const int SchedulerOtherResetOnFork = 0x40000000; // SCHED_OTHER | SCHED_RESET_ON_FORK

    /// <summary>The calling thread's nice value; 0 where threads have none (not Linux).</summary>
    public static int Current
    {
        get
        {
            if (!OperatingSystem.IsLinux()) return 0;
            Marshal.SetLastPInvokeError(0);
            var nice = getpriority(PriorityProcess, gettid());
            // −1 is both a valid value and the error return: errno tells them apart.
            return nice == -1 && Marshal.GetLastPInvokeError() != 0 ? 0 : nice;
        }
    }

    /// <summary>Sets the calling thread's nice value; null when done, else why not.</summary>
    /// <param name="inherited">Whether threads this one creates from now on start with the same value (how ONNX
    /// Runtime's get it); false for a thread that runs .NET code, which may create thread-pool or timer threads as a
    /// side effect: those start at 0 (Linux's SCHED_RESET_ON_FORK) instead of taking a raised priority along to
    /// unrelated work.</param>
    public static string? TrySet(int nice, bool inherited)
    {
        if (!OperatingSystem.IsLinux()) return "thread priorities are only set on Linux";
        var none = 0;
        if (!inherited && sched_setscheduler(0, SchedulerOtherResetOnFork, ref none) != 0)
            return Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
        if (setpriority(PriorityProcess, gettid(), nice) == 0) return null;
        return Marshal.GetLastPInvokeError() switch
        {
            PermissionDenied or NotPermitted =>
                $"permission denied: a nice value below {Current} needs CAP_SYS_NICE (root, or systemd " +
                "AmbientCapabilities=CAP_SYS_NICE) or a raised RLIMIT_NICE",
            var errno => Marshal.GetPInvokeErrorMessage(errno),
        };
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a new thread named <paramref name="name"/> at <paramref name="nice"/>, inherited
    /// by the threads it starts, and waits for it: how a native library's worker threads get a priority that no thread
    /// of the caller keeps. <paramref name="error"/> says why the value could not be set (the work runs all the same).
    /// </summary>
    public static T RunOnNewThread<T>(string name, int nice, Func<T> work, out string? error)
    {
        T result = default!;
        string? notSet = null;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            notSet = TrySet(nice, inherited: true);
            try
            {
                result = work();
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        })
        { Name = name, IsBackground = true };
        thread.Start();
        thread.Join();
        failure?.Throw();
        error = notSet;
        return result;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getpriority(int which, int who);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int prio);

    // The parameter is struct sched_param, one int (the static priority, 0 for SCHED_OTHER).
    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, ref int param);
}
