using System.Buffers;
using System.Diagnostics;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeEvents.Bench;

/// <summary>
/// Messages/s through our transport layer next to a raw client on the same broker in the same run, for 1 KB and
/// 100 KB payloads. Both sides publish at-least-once with the same window of outstanding publishes and count a message
/// when the subscriber has it.
/// </summary>
public static class TransportBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var brokers = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).DefaultIfEmpty("all").ToList();
        var cases = new (int Size, int Count)[] { (1024, quick ? 2_000 : 20_000), (100 * 1024, quick ? 200 : 2_000) };
        const int window = 64;
        Console.WriteLine($"transport bench: window {window}, at-least-once, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine("| broker | payload | raw msg/s | ours msg/s | ours/raw |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var kind in new[] { MqttTestBroker.Embedded, MqttTestBroker.Mosquitto })
        {
            if (!brokers.Contains("all") && !brokers.Contains(kind)) continue;
            await using var broker = await MqttTestBroker.StartAsync(kind);
            await RowsAsync(kind, cases, (size, count) => RawMqttAsync(broker.Url, size, count, window), (size, count) => OursAsync(broker.Url, size, count, window));
        }
        if (brokers.Contains("all") || brokers.Contains("nats"))
        {
            await using var nats = await NatsServer.StartNewAsync();
            await RowsAsync("nats-server (core)", cases, (size, count) => RawNatsAsync(nats.Url, size, count, window), (size, count) => OursAsync(nats.Url, size, count, window));
        }
        return 0;
    }

    /// <summary>Warms both paths once, then measures raw and ours alternately and keeps the best of three.</summary>
    private static async Task RowsAsync(string broker, (int Size, int Count)[] cases, Func<int, int, Task<double>> rawRun, Func<int, int, Task<double>> oursRun)
    {
        foreach (var (size, count) in cases)
        {
            await rawRun(size, Math.Min(count, 500));
            await oursRun(size, Math.Min(count, 500));
            double raw = 0, ours = 0;
            for (var i = 0; i < 3; i++)
            {
                raw = Math.Max(raw, await rawRun(size, count));
                ours = Math.Max(ours, await oursRun(size, count));
            }
            Console.WriteLine($"| {broker} | {size / 1024} KB | {raw:N0} | {ours:N0} | {ours / raw:P0} |");
        }
    }

    /// <summary>
    /// Bare NATS.Client.Core: publish then ping per message (what our transport does for an at-least-once message on a
    /// subject outside the JetStream streams), same window, a plain subscription.
    /// </summary>
    public static async Task<double> RawNatsAsync(string url, int size, int count, int window)
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
        var watch = Stopwatch.StartNew();
        await Windowed(count, window, async _ =>
        {
            await publisher.PublishAsync(subject, payload);
            await publisher.PingAsync();
        });
        await received.WaitAsync(TimeSpan.FromMinutes(2));
        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Our IMessageTransport on both ends.</summary>
    public static async Task<double> OursAsync(string url, int size, int count, int window)
    {
        await using var subscriber = await TestTransports.ConnectAsync(url);
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("bench/ours") { Capacity = 4096 }, default);
        await using var publisher = await TestTransports.ConnectAsync(url);
        var payload = new byte[size];
        var received = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++) await subscription.Messages.ReadAsync();
        });
        var watch = Stopwatch.StartNew();
        await Windowed(count, window, _ => publisher.PublishAsync(new OutgoingMessage("bench/ours", payload), default).AsTask());
        await received.WaitAsync(TimeSpan.FromMinutes(2));
        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Bare MQTTnet clients, same QoS, same window, same TCP buffer.</summary>
    public static async Task<double> RawMqttAsync(string url, int size, int count, int window)
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
        var watch = Stopwatch.StartNew();
        await Windowed(count, window, _ => publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bench/raw")
            .WithPayload(new ReadOnlySequence<byte>(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()));
        await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var rate = count / watch.Elapsed.TotalSeconds;
        await publisher.DisconnectAsync();
        await subscriber.DisconnectAsync();
        return rate;
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
