using System.Text;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Reliability.Tests;

/// <summary>
/// The test runner never calls this. The outbox kill test starts this assembly as a child process
/// (<c>outbox-child {outbox file} {broker url} {source} {count}</c>): it publishes <c>count</c> at-least-once events
/// through an outbox-backed transport, prints <c>accepted {count}</c>, then keeps running (and sending) until killed.
/// The outbox flushes to the OS, not the disk (<see cref="OutboxOptions.FlushToDisk"/> false): that is what survives
/// a process kill, and 10,000 fsyncs would take minutes on a busy CI disk.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["outbox-child", var path, var broker, var source, var countText]) return 2;
        var count = int.Parse(countText);
        var options = TestTransports.Options(broker, clientId: $"child-{source}", persistent: true) with
        {
            Outbox = new OutboxOptions { Path = path, FlushToDisk = false },
        };
        var transport = TransportFactory.Create(options, source, NullLoggerFactory.Instance);
        _ = transport.ConnectAsync(CancellationToken.None);
        for (var i = 0; i < count; i++) await transport.PublishAsync(Streams.Event(source, i), default);
        Console.Out.WriteLine($"accepted {count}");
        Console.Out.Flush();
        await Task.Delay(Timeout.Infinite);
        return 0;
    }
}
