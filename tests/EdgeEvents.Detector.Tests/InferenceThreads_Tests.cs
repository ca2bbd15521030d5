using System.Collections.Concurrent;
using System.Globalization;
using EdgeEvents.Detector.Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace EdgeEvents.Detector.Tests;

public class InferenceThreads_Tests
{
    /// <summary>
    /// Only threads of the test's own (a protected run thread and plain ones) are handed to the class, so the rest of
    /// the test process keeps its priority.
    /// </summary>
    [LinuxFact]
    public void Every_thread_but_the_protected_ones_is_lowered_including_threads_started_later()
    {
        var ids = new ConcurrentBag<int>();
        using var release = new ManualResetEventSlim();
        using var threads = new InferenceThreads(10, runThreads: 1, NullLogger.Instance, () => ids);
        int Start(bool protect)
        {
            var started = new TaskCompletionSource<int>();
            new Thread(() =>
            {
                var id = InferenceThreads.CurrentThreadId();
                ids.Add(id);
                if (protect) threads.ProtectCurrentThread();
                started.SetResult(id);
                release.Wait();
            }) { IsBackground = true }.Start();
            return started.Task.GetAwaiter().GetResult();
        }

        try
        {
            var plain = Start(protect: false);
            var run = Start(protect: true);
            WaitFor(() => NiceOf(plain) == 10, TimeSpan.FromSeconds(3));
            Assert.Equal(0, NiceOf(run));

            // A thread that appears after the first pass is caught by the next one.
            var later = Start(protect: false);
            Assert.Equal(0, NiceOf(later));
            WaitFor(() => NiceOf(later) == 10, 2 * InferenceThreads.Period + TimeSpan.FromSeconds(1));
            Assert.Equal(0, NiceOf(run));
        }
        finally
        {
            release.Set();
        }
    }

    [LinuxFact]
    public void Nothing_is_lowered_before_every_run_thread_has_protected_itself()
    {
        var self = InferenceThreads.CurrentThreadId();
        var plain = 0;
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            plain = InferenceThreads.CurrentThreadId();
            started.Set();
            release.Wait();
        }) { IsBackground = true };
        thread.Start();
        started.Wait();
        try
        {
            // Two run threads expected, none registered: the plain thread must keep its priority.
            using var threads = new InferenceThreads(10, runThreads: 2, NullLogger.Instance, () => [plain, self]);
            Thread.Sleep(InferenceThreads.Period + TimeSpan.FromMilliseconds(500));
            Assert.Equal(0, NiceOf(plain));
        }
        finally
        {
            release.Set();
        }
    }

    /// <summary>The nice value of a thread of this process, field 19 of /proc/self/task/{id}/stat.</summary>
    private static int NiceOf(int threadId)
    {
        var stat = File.ReadAllText($"/proc/self/task/{threadId}/stat");
        // Fields after the command name (in parentheses, which may contain spaces): state is the first, nice the 17th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], CultureInfo.InvariantCulture);
    }

    private static void WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not within {timeout.TotalSeconds:0.#} s.");
            Thread.Sleep(50);
        }
    }
}

/// <summary>A fact that runs on Linux only (thread priorities are set through Linux thread ids).</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "Thread priorities are set on Linux only.";
    }
}
