using System.CommandLine;
using System.Diagnostics;
using System.Threading.Channels;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Detector;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Mqtt;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Trace;
using static EdgeEvents.Bench.BenchSupport;

namespace EdgeEvents.Bench;

/// <summary>
/// Overhead of tracing + metrics on message throughput: one publisher and one subscriber transport through a broker
/// (mosquitto by default, out of process, so the process CPU time is the clients' alone), the publisher at most
/// <c>--window</c> messages ahead (no loss). Three variants, interleaved in each round:
/// <list type="bullet">
/// <item><c>bare</c>: <see cref="MqttTransport"/> as is, the subscriber only counts.</item>
/// <item><c>off</c>: through <see cref="Pipeline.Observability.TracingTransport"/> with the worker one-liner
/// <c>StartProcessing</c> per message, no telemetry listener (a process without service defaults).</item>
/// <item><c>on</c>: the same inside a host with <c>AddEdgeServiceDefaults</c> (tracing of every message, metrics with
/// the Prometheus and stats readers) plus a batch span processor whose exporter discards, standing in for OTLP.</item>
/// </list>
/// Every variant runs inside a generic host (the same live heap apart from the telemetry itself: with 100 KB payloads
/// the transport churns the large-object heap, so gen2 collections are frequent and their cost grows with the live
/// heap). Each variant keeps its best of <c>--rounds</c> (run order rotated per round). Then the same three variants
/// around an in-memory transport give the telemetry cost of one hop without I/O. Last, the detector worker's throughput
/// with telemetry off and on.
/// </summary>
public static class ObservabilityBench
{
    private const string Topic = "edge/events/bench";

    public static Command Command()
    {
        var broker = BenchOptions.WithDefault("--broker", "Broker: mosquitto (out of process) or embedded",
            MqttTestBroker.Mosquitto);
        broker.AcceptOnlyFromAmong(MqttTestBroker.Mosquitto, MqttTestBroker.Embedded);
        var messages = BenchOptions.WithDefault("--messages", "Messages per run (100 KB and larger: a tenth)", 20_000);
        var rounds = BenchOptions.WithDefault("--rounds", "Rounds; each variant keeps its best", 3);
        var sizes = BenchOptions.List<int>("--sizes", "Payload sizes in bytes [default: 1024,102400]");
        var window = BenchOptions.WithDefault("--window", "Most messages the publisher runs ahead", 100);
        var detectorSeconds = BenchOptions.WithDefault("--detector-seconds", "Seconds per detector run", 8);
        var noDetector = new Option<bool>("--no-detector") { Description = "Skip the detector worker's comparison" };
        var command = new Command("observability", "Overhead of tracing and metrics on throughput.")
        {
            broker, messages, rounds, sizes, window, detectorSeconds, noDetector,
        };
        command.SetAction(parse => RunAsync(
            parse.GetRequiredValue(broker), parse.GetValue(messages), parse.GetValue(rounds),
            parse.GivenOr(sizes, [1024, 102400]), parse.GetValue(window),
            parse.GetValue(noDetector) ? null : TimeSpan.FromSeconds(parse.GetValue(detectorSeconds))));
        return command;
    }

    /// <summary>Runs every measurement; the detector's last, for <paramref name="detectorRun"/> per variant unless
    /// null.</summary>
    public static async Task<int> RunAsync(
        string brokerKind, int messages, int rounds, int[] sizes, int window, TimeSpan? detectorRun)
    {
        await using var broker = await MqttTestBroker.StartAsync(brokerKind);
        Console.WriteLine($"observability overhead: {messages} messages per run (100 KB and larger: a tenth), window " +
            $"{window}, {rounds} rounds, {brokerKind} broker, QoS 1, {Environment.ProcessorCount} cores, " +
            $"{DateTime.UtcNow:yyyy-MM-dd}");
        // Load from other processes only ever slows a run down, so each variant keeps its best round. Process CPU time
        // per message (the broker runs in-process, so its work is in every variant's) and allocations per message show
        // the cost we add more steadily than wall-clock throughput.
        Console.WriteLine("| payload | variant | msg/s (best) | vs bare | CPU µs/msg (best) | vs bare | allocated " +
            "B/msg | gen2 GCs/1k msg |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var size in sizes)
        {
            var count = size >= 100_000 ? messages / 10 : messages;
            var results = await RoundsAsync(rounds, Math.Min(count, 2000), count,
                (variant, n) => ThroughBrokerAsync(variant, broker.Url, size, n, window));
            var bareRate = results["bare"].Max(r => r.PerSecond);
            var bareCpu = results["bare"].Min(r => r.Microseconds);
            foreach (var (variant, runs) in results)
            {
                var rate = runs.Max(r => r.PerSecond);
                var cpu = runs.Min(r => r.Microseconds);
                Console.WriteLine($"| {size / 1024.0:0.#} KB | {variant} | {rate:0} | {rate / bareRate:0.000} | " +
                    $"{cpu:0.0} | {cpu / bareCpu:0.000} | {runs.Min(r => r.AllocatedBytes):0} | " +
                    $"{runs.Min(r => r.Gen2PerThousand):0.#} |");
            }
        }
        await HopCostAsync(messages * 10, rounds);
        if (detectorRun is { } duration) await DetectorAsync(broker.Url, rounds, duration);
        Console.WriteLine();
        var plain = await LiveHeapOfHostAsync(telemetry: false);
        var defaults = await LiveHeapOfHostAsync(telemetry: true);
        Console.WriteLine($"live heap of a started host: {plain / 1e6:0.00} MB plain, {defaults / 1e6:0.00} MB with " +
            $"the service defaults (+{(defaults - plain) / 1e6:0.00} MB)");
        return 0;
    }

    /// <summary>
    /// The detector worker (yolov8n int8, CPU) fed bus.jpg by two cameras faster than it can keep up, with telemetry
    /// off and on: detection sets/s and process CPU per set. The frames' receive spans, the detections' publish spans
    /// and all metrics are traced in <c>on</c>; the detector's own processing span is not yet wired (its one-liner is
    /// pending).
    /// </summary>
    private static async Task DetectorAsync(string brokerUrl, int rounds, TimeSpan duration)
    {
        Console.WriteLine();
        if (TestData.SharedFolder is null)
        {
            Console.WriteLine("detector throughput: skipped (no shared models folder beside the repository)");
            return;
        }
        var options = new DetectorOptions
        {
            ModelPath = TestData.Model("yolov8n_int8_dynamic.onnx"),
            Providers = "CPU"
        };
        var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        Console.WriteLine($"detector throughput: yolov8n int8 on CPU, bus.jpg from 2 cameras at 40 frames/s in " +
            $"total, {duration.TotalSeconds:0} s per run after 2 s settling, {rounds} rounds");
        Console.WriteLine("| variant | detection sets/s (best) | vs off | CPU ms/set (best) | vs off |");
        Console.WriteLine("|---|---|---|---|---|");
        var variants = new[] { "off", "on" };
        var results = variants.ToDictionary(v => v, _ => new List<Run>());
        for (var round = 0; round < rounds; round++)
            foreach (var variant in round % 2 == 0 ? variants : variants.Reverse())
                results[variant].Add(await DetectorRunAsync(variant, brokerUrl, options, jpeg, duration));
        var offRate = results["off"].Max(r => r.PerSecond);
        var offCpu = results["off"].Min(r => r.Microseconds);
        foreach (var (variant, runs) in results)
        {
            var rate = runs.Max(r => r.PerSecond);
            var cpu = runs.Min(r => r.Microseconds);
            Console.WriteLine($"| {variant} | {rate:0.00} | {rate / offRate:0.000} | {cpu / 1000:0.0} | " +
                $"{cpu / offCpu:0.000} |");
        }
    }

    private static async Task<Run> DetectorRunAsync(string variant, string brokerUrl, DetectorOptions options,
        byte[] jpeg, TimeSpan duration)
    {
        using var host = await WorkerHost.StartAsync(telemetry: variant == "on");
        await using var component = await TestTransports.ComponentAsync(TestTransports.Options(brokerUrl), "detector");
        var worker = new DetectorWorker(options, component, NullLoggerFactory.Instance);
        await worker.StartAsync(CancellationToken.None);
        await using var camera = await TestTransports.ConnectAsync(brokerUrl, component: "camera");
        await using var detections = await camera
            .SubscribeAsync(new SubscriptionRequest("edge/detections/+") { Capacity = 4096 }, default);
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    await camera.PublishAsync(new OutgoingMessage("edge/frames/bench1",
                        jpeg)
                    { Delivery = Delivery.AtMostOnce }, default);
                    await camera.PublishAsync(new OutgoingMessage("edge/frames/bench2",
                        jpeg)
                    { Delivery = Delivery.AtMostOnce }, default);
                }
            }
            catch (OperationCanceledException) { }
        });
        await Task.Delay(TimeSpan.FromSeconds(2));
        while (detections.Messages.TryRead(out _)) { }
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        var sets = 0;
        using (var window = new CancellationTokenSource(duration))
        {
            try { while (true) { await detections.Messages.ReadAsync(window.Token); sets++; } }
            catch (OperationCanceledException) { }
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        await stop.CancelAsync();
        await publishing;
        await worker.StopAsync(CancellationToken.None);
        return new Run(sets / elapsed.TotalSeconds, cpu.TotalMicroseconds / Math.Max(1, sets), 0);
    }

    /// <summary>Bytes still reachable after starting a worker host (full collection before and after).</summary>
    private static async Task<long> LiveHeapOfHostAsync(bool telemetry)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        using var host = await WorkerHost.StartAsync(telemetry);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(host);
        return after - before;
    }

    /// <summary>
    /// The telemetry cost of one message hop (publish span + receive span + processing span, counters, header
    /// injection and extraction) without any I/O: the decorator around an in-memory transport, single-threaded.
    /// </summary>
    private static async Task HopCostAsync(int count, int rounds)
    {
        Console.WriteLine();
        Console.WriteLine($"telemetry cost per hop without I/O: {count} messages through an in-memory transport, " +
            $"{rounds} rounds");
        Console.WriteLine("| variant | ns/msg (best) | added vs bare | allocated B/msg |");
        Console.WriteLine("|---|---|---|---|");
        var results = await RoundsAsync(rounds, count / 10, count, InMemoryAsync);
        var bare = results["bare"].Min(r => r.Microseconds) * 1000;
        foreach (var (variant, runs) in results)
        {
            var ns = runs.Min(r => r.Microseconds) * 1000;
            Console.WriteLine($"| {variant} | {ns:0} | {ns - bare:0} | {runs.Min(r => r.AllocatedBytes):0} |");
        }
    }

    private static async Task<Run> InMemoryAsync(string variant, int count)
    {
        using var host = await WorkerHost.StartAsync(telemetry: variant == "on");
        IMessageTransport transport = new MemoryTransport();
        if (variant != "bare") transport = new Pipeline.Observability.TracingTransport(transport, "bench",
            new TopicScheme());
        await using var _ = transport;
        await using var subscription = await transport.SubscribeAsync(new SubscriptionRequest(Topic), default);
        var payload = new byte[1024];
        var traced = variant != "bare";
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            await transport.PublishAsync(new OutgoingMessage(Topic, payload) { MessageId = "m" }, default);
            if (!subscription.Messages.TryRead(out var message)) throw new InvalidOperationException("The in-memory " +
                "transport lost a message.");
            if (traced)
            {
                using var span = EdgeTelemetry.StartProcessing("bench", "process", message);
            }
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new Run(count / elapsed.TotalSeconds, elapsed.TotalMicroseconds / count,
            (GC.GetTotalAllocatedBytes() - allocatedBefore) / (double)count);
    }

    /// <summary>Publish hands the message straight to the one subscription: the bench's stand-in for a broker round
    /// trip.</summary>
    private sealed class MemoryTransport : IMessageTransport
    {
        private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();
        private readonly Channel<ReceivedMessage> _channel = Channel.CreateUnbounded<ReceivedMessage>();

        public string System => "memory";
        public bool IsConnected => true;
        public event Action<bool>? ConnectionChanged { add { } remove { } }
        public event Action<RejectedMessage>? Rejected { add { } remove { } }
        public Task ConnectAsync(CancellationToken ct) => Task.CompletedTask;

        public ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct)
        {
            _channel.Writer.TryWrite(new ReceivedMessage(message.Topic,
                message.Payload)
            { MessageId = message.MessageId, Headers = message.Headers ?? NoHeaders });
            return ValueTask.CompletedTask;
        }

        public Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request, CancellationToken ct) =>
            Task.FromResult<IMessageSubscription>(new Subscription(request, _channel.Reader));

        public Task<ReceivedMessage> RequestAsync(OutgoingMessage request, TimeSpan timeout, CancellationToken ct) =>
            throw new NotSupportedException("The in-memory bench transport has no request/reply.");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed record Subscription(SubscriptionRequest Request, ChannelReader<ReceivedMessage> Messages)
            : IMessageSubscription
        {
            public long Dropped => 0;
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>One run: messages/s, µs per message (process CPU through the broker; wall clock, single thread, in
    /// memory) and bytes allocated per message.</summary>
    private sealed record Run(double PerSecond, double Microseconds, double AllocatedBytes, double Gen2PerThousand = 0);

    private static readonly string[] Variants = ["bare", "off", "on"];

    /// <summary>A warm-up run of each variant (JIT, connections), then <paramref name="rounds"/> rounds, the order
    /// rotated so no variant always runs first.</summary>
    private static async Task<Dictionary<string, List<Run>>> RoundsAsync(int rounds, int warmup, int count, Func<string,
        int, Task<Run>> run)
    {
        foreach (var variant in Variants) await run(variant, warmup);
        var results = Variants.ToDictionary(v => v, _ => new List<Run>());
        for (var round = 0; round < rounds; round++)
            foreach (var variant in Variants.Skip(round % 3).Concat(Variants.Take(round % 3)))
                results[variant].Add(await run(variant, count));
        return results;
    }

    private static async Task<Run> ThroughBrokerAsync(string variant, string brokerUrl, int size, int count, int window)
    {
        using var host = await WorkerHost.StartAsync(telemetry: variant == "on");
        await using var publisher = await ConnectAsync(variant, brokerUrl, "bench-pub");
        await using var subscriber = await ConnectAsync(variant, brokerUrl, "bench-sub");
        await using var subscription = await subscriber
            .SubscribeAsync(new SubscriptionRequest(Topic) { Capacity = window * 2 }, default);
        var payload = new byte[size];
        using var credits = new SemaphoreSlim(window);
        var traced = variant != "bare";

        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var gen2Before = GC.CollectionCount(2);
        var started = Stopwatch.GetTimestamp();
        var consumer = Task.Run(async () =>
        {
            var received = 0;
            await foreach (var message in subscription.Messages.ReadAllAsync())
            {
                if (traced)
                {
                    using var span = EdgeTelemetry.StartProcessing("bench-sub", "process", message);
                }
                credits.Release();
                if (++received == count) return;
            }
        });
        for (var i = 0; i < count; i++)
        {
            await credits.WaitAsync();
            await publisher.PublishAsync(new OutgoingMessage(Topic, payload)
            {
                Delivery = Delivery.AtLeastOnce,
                MessageId = i.ToString()
            }, default);
        }
        await consumer.WaitAsync(TimeSpan.FromMinutes(2));
        var elapsed = Stopwatch.GetElapsedTime(started);
        process.Refresh();
        return new Run(count / elapsed.TotalSeconds, (process.TotalProcessorTime - cpuBefore).TotalMicroseconds / count,
            (GC.GetTotalAllocatedBytes() - allocatedBefore) / (double)count, (GC.CollectionCount(2) - gen2Before)
                * 1000.0 / count);
    }

    private static async Task<IMessageTransport> ConnectAsync(string variant, string brokerUrl, string component)
    {
        var options = TestTransports.Options(brokerUrl);
        if (variant != "bare") return await TestTransports.ConnectAsync(options, component);
        var transport = new MqttTransport(options, BrokerAddress.Parse(brokerUrl), new TopicScheme(), component,
            options.ClientId!, NullLogger.Instance);
        await transport.ConnectAsync(default);
        return transport;
    }

    /// <summary>
    /// A worker's host: with <paramref name="telemetry"/>, the service defaults plus an export pipeline that discards;
    /// without, the same generic host with nothing listening.
    /// </summary>
    private sealed class WorkerHost(IHost host) : IDisposable
    {
        public static async Task<WorkerHost> StartAsync(bool telemetry)
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddInMemoryCollection(new Dictionary<string,
                string?>
            { ["Health:Port"] = "0", ["Stats:Log"] = "false" });
            if (telemetry)
            {
                builder.AddEdgeServiceDefaults("bench");
                builder.Services.ConfigureOpenTelemetryTracerProvider(t =>
                    t.AddProcessor(new BatchActivityExportProcessor(new DiscardingExporter())));
            }
            var host = builder.Build();
            await host.StartAsync();
            return new WorkerHost(host);
        }

        public void Dispose()
        {
            host.StopAsync().GetAwaiter().GetResult();
            host.Dispose();
        }
    }

    private sealed class DiscardingExporter : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch) => ExportResult.Success;
    }
}
