using System.Runtime.InteropServices;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging;
using Xunit;

namespace EdgeEvents.Detector.Tests;

public class InferenceNice_Tests
{
    // Distinct from any value other tests use, so that threads of parallel tests are not counted.
    private const int Nice = -7;

    [Fact]
    public async Task The_run_thread_and_onnx_runtimes_pool_thread_run_at_the_configured_nice_value_and_no_other_thread_does()
    {
        Assert.True(CanRaisePriority(), "raising a thread's priority needs CAP_SYS_NICE: run the tests as root (.ci/run does)");
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloV8,
            ["Detector:IntraOpThreads"] = "2",
            ["Detector:InferenceNice"] = Nice.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync("nice", File.ReadAllBytes(TestData.Sample("bus.jpg")));

        Assert.Single(await Receive.ExactlyAsync(detections, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(Nice, Assert.Single(detector.Worker.Models).Nice);
        // The run thread, and the threads ONNX Runtime started while the session was created (named after the thread that
        // created it: its intra-op pool); not the thread that loaded the model nor any other.
        var names = ThreadsAt(Nice);
        Assert.Equal(1, names.Count(n => n == ".NET Long Runni"));
        Assert.Contains("Detector sessio", names);
        Assert.All(names, n => Assert.Contains(n, new[] { ".NET Long Runni", "Detector sessio" }));
    }

    [Theory]
    [InlineData(true, Nice)] // how ONNX Runtime's threads get it from the thread that creates the session
    [InlineData(false, 0)] // the run thread: a thread-pool thread it happens to start must not take the priority along
    public void A_thread_started_by_a_raised_one_has_its_nice_value_only_when_it_is_inherited(bool inherited, int expected)
    {
        Assert.True(CanRaisePriority(), "raising a thread's priority needs CAP_SYS_NICE: run the tests as root (.ci/run does)");
        string? error = null;
        int? child = null;
        var parent = new Thread(() =>
        {
            error = ThreadNice.TrySet(Nice, inherited);
            var started = new Thread(() => child = ThreadNice.Current);
            started.Start();
            started.Join();
        });
        parent.Start();
        parent.Join();

        Assert.Null(error);
        Assert.Equal(expected, child);
    }

    [Fact]
    public void Without_the_privilege_the_model_loads_at_the_usual_priority_and_says_why()
    {
        var logger = new ListLogger();
        DetectorModel? model = null;
        var thread = new Thread(() =>
        {
            // This thread (and the one it starts to create the session) loses CAP_SYS_NICE, as an unprivileged process has none.
            DropSysNice();
            model = DetectorModel.Load(new DetectorOptions { ModelPath = DetectorHost.YoloV8, Providers = "CPU", IntraOpThreads = 2, InferenceNice = Nice - 1 }, logger);
        });
        thread.Start();
        thread.Join();

        using (model)
        {
            Assert.Null(model!.Nice);
            Assert.Empty(ThreadsAt(Nice - 1));
            Assert.Contains(logger.Messages, m => m.Level == LogLevel.Warning && m.Text.Contains("nice -8 could not be set: permission denied") && m.Text.Contains("CAP_SYS_NICE"));
        }
    }

    /// <summary>The names (Linux truncates them to 15 characters) of this process's threads at <paramref name="nice"/>.</summary>
    private static List<string> ThreadsAt(int nice)
    {
        var names = new List<string>();
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var end = stat.LastIndexOf(')');
                // The fields after the name: state is field 3 of the line, nice field 19.
                if (int.Parse(stat[(end + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture) == nice) names.Add(stat[(stat.IndexOf('(') + 1)..end]);
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }
        return names;
    }

    private static bool CanRaisePriority()
    {
        var raised = false;
        var probe = new Thread(() => raised = ThreadNice.TrySet(-1, inherited: true) is null);
        probe.Start();
        probe.Join();
        return raised;
    }

    private const uint CapabilityVersion3 = 0x20080522;
    private const int CapSysNice = 23;

    [StructLayout(LayoutKind.Sequential)]
    private struct CapabilityHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapabilityData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int capget(ref CapabilityHeader header, [Out] CapabilityData[] data);

    [DllImport("libc", SetLastError = true)]
    private static extern int capset(ref CapabilityHeader header, CapabilityData[] data);

    /// <summary>Removes CAP_SYS_NICE from the calling thread's effective capabilities (capabilities are per thread on Linux).</summary>
    private static void DropSysNice()
    {
        var header = new CapabilityHeader { Version = CapabilityVersion3 };
        var data = new CapabilityData[2];
        Assert.Equal(0, capget(ref header, data));
        data[0].Effective &= ~(1u << CapSysNice);
        Assert.Equal(0, capset(ref header, data));
    }
}
