using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeEvents.Bench.Load;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using MQTTnet;
using MQTTnet.Protocol;
using static EdgeEvents.Bench.BenchSupport;

namespace EdgeEvents.Bench;

/// <summary>
/// Messages/s through our transport layer next to a raw client on the same broker in the same run, for 1 KB and
/// 100 KB payloads. Both sides publish the same number of at-least-once messages of the same payload with the same
/// window of outstanding publishes and count a message when the subscriber has it.
/// </summary>
public static class TransportBench
{
    private const string All = "all";

    public static Command Command()
    {
        var brokers = new Argument<string[]>("brokers")
        {
            Description = "Brokers to measure: embedded, mosquitto, nats or all [default: all]",
            Arity = ArgumentArity.ZeroOrMore,
        };
        brokers.AcceptOnlyFromAmong(All, MqttTestBroker.Embedded, MqttTestBroker.Mosquitto, LoadPipeline.Nats);
        var quick = BenchOptions.Quick("Fewer messages, 1 round of the minimum length");
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds per row [default: 5, --quick 1]" };
        var seconds = new Option<double>("--seconds")
        {
            Description = "Length of a measured round [default: 1, --quick 0]",
        };
        var command = new Command("transport", "Messages/s through our transport next to a raw client.")
        {
            brokers, quick, rounds, seconds,
        };
        command.SetAction(parse =>
        {
            var isQuick = parse.GetValue(quick);
            var chosen = parse.GetValue(brokers) is { Length: > 0 } named ? named : [All];
            return RunAsync(chosen, parse.GivenOr(rounds, isQuick ? 1 : 5), parse.GivenOr(seconds, isQuick ? 0 : 1),
                isQuick);
        });
        return command;
    }

    public static async Task<int> RunAsync(string[] brokers, int rounds, double seconds, bool quick)
    {
        var cases = new (int Size, int Count)[] { (1024, quick ? 2_000 : 20_000), (100 * 1024, quick ? 200 : 2_000) };
        const int window = 64;
        Console.WriteLine($"transport bench: window {window}, at-least-once, {rounds} alternating rounds of ≥ " +
            $"{seconds:0.#} s (median), {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine("| broker | payload × messages | raw msg/s | ours msg/s | ours/raw | per-round ours/raw | " +
            "CPU µs/msg raw / ours | KB allocated/msg raw / ours |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var kind in new[] { MqttTestBroker.Embedded, MqttTestBroker.Mosquitto })
        {
            if (!brokers.Contains(All) && !brokers.Contains(kind)) continue;
            await using var broker = await MqttTestBroker.StartAsync(kind);
            await RowsAsync(kind, cases, rounds, seconds, (size, count) => RawMqttAsync(broker.Url, size, count,
                window), (size, count) => OursAsync(broker.Url, size, count, window));
        }
        if (brokers.Contains(All) || brokers.Contains(LoadPipeline.Nats))
        {
            await using var nats = await NatsServer.StartNewAsync();
            await RowsAsync("nats-server (core)", cases, rounds, seconds, (size, count) => RawNatsAsync(nats.Url, size,
                count, window), (size, count) => OursAsync(nats.Url, size, count, window));
        }
        return 0;
    }

    /// <summary>
    /// Warms both paths with two full-size runs each, then measures raw and ours in alternating order (raw first in
    /// even rounds, ours first in odd ones) so neither side always runs on a fresher heap or a quieter moment, and
    /// prints the medians. A round sends at least <paramref name="seconds"/> worth of messages at the warm-up's rate:
    /// at ~150k msg/s a fixed 20,000 messages lasted 0.13 s, short enough for one scheduler hiccup to swing a round ±40
    /// %. CPU is the process's CPU time per message: with an external broker that is the client side only, the cost our
    /// layer adds, and it depends less on what else the machine runs than msg/s does. Allocation per message is exact
    /// whatever the load.
    /// </summary>
    private static async Task RowsAsync(string broker, (int Size, int Count)[] cases, int rounds, double seconds,
        Func<int, int, Task<Measured>> rawRun, Func<int, int, Task<Measured>> oursRun)
    {
        foreach (var (size, minimum) in cases)
        {
            // Full-size warm-ups: our path has more code to tier up than the bare client, and that JIT work should
            // not land in the measured rounds.
            var warm = new List<Measured>();
            for (var i = 0; i < 2; i++)
            {
                warm.Add(await rawRun(size, minimum));
                warm.Add(await oursRun(size, minimum));
            }
            var count = Math.Max(minimum, (int)(Median(warm.Select(w => w.Rate)) * seconds));
            var raw = new List<Measured>();
            var ours = new List<Measured>();
            for (var i = 0; i < rounds; i++)
            {
                if (i % 2 == 0)
                {
                    raw.Add(await MeasureAsync(rawRun, size, count));
                    ours.Add(await MeasureAsync(oursRun, size, count));
                }
                else
                {
                    ours.Add(await MeasureAsync(oursRun, size, count));
                    raw.Add(await MeasureAsync(rawRun, size, count));
                }
            }
            var rawRate = Median(raw.Select(r => r.Rate));
            var oursRate = Median(ours.Select(r => r.Rate));
            var perRound = string.Join(" ", raw.Zip(ours, (r, o) => $"{o.Rate / r.Rate:P0}"));
            Console.WriteLine($"| {broker} | {size / 1024} KB × {count:N0} | {rawRate:N0} | {oursRate:N0} | " +
                $"{oursRate / rawRate:P0} | {perRound} | " +
                $"{Median(raw.Select(r => r.CpuMicros)):N1} / {Median(ours.Select(r => r.CpuMicros)):N1} | " +
                $"{Median(raw.Select(r => r.AllocatedKb)):N1} / {Median(ours.Select(r => r.AllocatedKb)):N1} |");
        }
    }

    private static Task<Measured> MeasureAsync(Func<int, int, Task<Measured>> run, int size, int count)
    {
        // Collect first, so one side does not pay for the garbage the other left behind.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return run(size, count);
    }

    /// <summary>msg/s, process CPU µs and managed KB allocated per message over the timed part of a run (connecting is
    /// not timed).</summary>
    public readonly record struct Measured(double Rate, double CpuMicros, double AllocatedKb);

    private sealed class Clock
    {
        private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: true);
        private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
        private readonly Stopwatch _watch = Stopwatch.StartNew();

        public Measured Stop(int count)
        {
            var elapsed = _watch.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpu;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
            return new(count / elapsed.TotalSeconds, cpu.TotalMicroseconds / count, allocated / 1024.0 / count);
        }
    }

    /// <summary>
    /// Bare NATS.Client.Core: publish then ping per message (what our transport does for an at-least-once message on a
    /// subject outside the JetStream streams), same window, a plain subscription.
    /// </summary>
    public static async Task<Measured> RawNatsAsync(string url, int size, int count, int window)
    {
        await using var subscriber = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = url });
        await using var publisher = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = url });
        await subscriber.ConnectAsync();
        await publisher.ConnectAsync();
        var subject = $"bench.raw.{Guid.NewGuid():N}";
        var ready = new TaskCompletionSource();
        var received = Task.Run(async () =>
        {
            var n = 0;
            await using var sub = await subscriber.SubscribeCoreAsync<byte[]>(subject);
            await subscriber.PingAsync();
            ready.SetResult();
            await foreach (var _ in sub.Msgs.ReadAllAsync())
                if (++n == count) return;
        });
        await ready.Task;
        var payload = new byte[size];
        var clock = new Clock();
        await Windowed(count, window, async _ =>
        {
            await publisher.PublishAsync(subject, payload);
            await publisher.PingAsync();
        });
        await received.WaitAsync(TimeSpan.FromMinutes(2));
        return clock.Stop(count);
    }

    /// <summary>Our IMessageTransport on both ends.</summary>
    public static async Task<Measured> OursAsync(string url, int size, int count, int window)
    {
        await using var subscriber = await TestTransports.ConnectAsync(url);
        await using var subscription = await subscriber
            .SubscribeAsync(new SubscriptionRequest("bench/ours") { Capacity = 4096 }, default);
        await using var publisher = await TestTransports.ConnectAsync(url);
        var payload = new byte[size];
        // Read as the workers and the raw side read: ReadAllAsync (WaitToReadAsync + TryRead, nothing allocated per
        // wait).
        var received = Task.Run(async () =>
        {
            var n = 0;
            await foreach (var _ in subscription.Messages.ReadAllAsync())
                if (++n == count) return;
        });
        var clock = new Clock();
        await Windowed(count, window, _ => publisher.PublishAsync(new OutgoingMessage("bench/ours", payload),
            default).AsTask());
        await received.WaitAsync(TimeSpan.FromMinutes(2));
        return clock.Stop(count);
    }

    /// <summary>Bare MQTTnet clients, same QoS, same window, same TCP buffer.</summary>
    public static async Task<Measured> RawMqttAsync(string url, int size, int count, int window)
    {
        var uri = new Uri(url);
        var factory = new MqttClientFactory();
        using var subscriber = factory.CreateMqttClient();
        using var publisher = factory.CreateMqttClient();
        MqttClientOptions Options(string id)
        {
            var options = new MqttClientOptionsBuilder().WithTcpServer(uri.Host, uri.Port).WithClientId(id)
                .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build();
            ((MqttClientTcpOptions)options.ChannelOptions).BufferSize = 64 * 1024;
            return options;
        }
        var remaining = count;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            if (Interlocked.Decrement(ref remaining) == 0) done.TrySetResult();
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(Options($"raw-sub-{Guid.NewGuid():N}"[..20]));
        await subscriber.SubscribeAsync("bench/raw", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.ConnectAsync(Options($"raw-pub-{Guid.NewGuid():N}"[..20]));
        var payload = new byte[size];
        var clock = new Clock();
        await Windowed(count, window,
            _ => publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bench/raw")
            .WithPayload(new ReadOnlySequence<byte>(payload))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()));
        await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var measured = clock.Stop(count);
        await publisher.DisconnectAsync();
        await subscriber.DisconnectAsync();
        return measured;
    }

    /// <summary>Runs <paramref name="count"/> operations with at most <paramref name="window"/> in flight.</summary>
    public static async Task Windowed(int count, int window, Func<int, Task> operation)
    {
        var inFlight = new Queue<Task>(window);
        for (var i = 0; i < count; i++)
        {
            if (inFlight.Count == window) await inFlight.Dequeue();
            inFlight.Enqueue(operation(i));
        }
        await Task.WhenAll(inFlight);
    }
}
