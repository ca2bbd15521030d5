using System.Collections.Concurrent;
using System.Text;
using EdgeEvents.Pipeline.Transport;
using Xunit;

namespace EdgeEvents.Testing;

/// <summary>
/// Numbered event streams, one per source (camera), and the check that they arrived exactly once and in order.
/// </summary>
public static class Streams
{
    public static OutgoingMessage Event(string source, int sequence) =>
        new($"edge/events/{source}", Encoding.UTF8.GetBytes($"{source}:{sequence}"))
        {
            MessageId = $"{source}-{sequence}", ContentType = "text/plain"
        };

    public static (string Source, int Sequence) Parse(ReceivedMessage message)
    {
        var text = Encoding.UTF8.GetString(message.Payload.Span);
        var colon = text.LastIndexOf(':');
        return (text[..colon], int.Parse(text[(colon + 1)..]));
    }
}

/// <summary>
/// Reads a subscription in the background and keeps, per source, the sequence numbers in arrival order.
/// </summary>
public sealed class StreamCheck : IAsyncDisposable
{
    private readonly IMessageSubscription _subscription;
    private readonly ConcurrentDictionary<string, List<int>> _received = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private int _count;

    public StreamCheck(IMessageSubscription subscription)
    {
        _subscription = subscription;
        _reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in subscription.Messages.ReadAllAsync(_stop.Token))
                {
                    var (source, sequence) = Streams.Parse(message);
                    var list = _received.GetOrAdd(source, _ => []);
                    lock (list) list.Add(sequence);
                    Interlocked.Increment(ref _count);
                }
            }
            catch (OperationCanceledException) { }
        });
    }

    public int Count => Volatile.Read(ref _count);
    public long Duplicates => _subscription.Duplicates;

    public IReadOnlyList<int> Of(string source)
    {
        var list = _received.GetOrAdd(source, _ => []);
        lock (list) return [.. list];
    }

    /// <summary>Waits until <paramref name="done"/> holds, or fails with what arrived.</summary>
    public async Task WaitUntilAsync(Func<StreamCheck, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(this))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Only {Count} messages arrived within {timeout.TotalSeconds:0} s.");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Asserts every source delivered exactly 0..accepted-1, each once, in order; returns a line of figures.
    /// </summary>
    public string AssertExactlyOnceInOrder(IReadOnlyDictionary<string, int> accepted)
    {
        foreach (var (source, count) in accepted)
            Assert.Equal(Enumerable.Range(0, count), Of(source));
        return Figures(accepted);
    }

    public string Figures(IReadOnlyDictionary<string, int> accepted)
    {
        var sent = accepted.Values.Sum();
        var distinct = accepted.Keys.Sum(s => Of(s).Distinct().Count());
        return $"sent {sent}, received {Count} (distinct {distinct}), duplicates suppressed {Duplicates}, " +
            $"lost {sent - distinct}, dropped {_subscription.Dropped}";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reader;
        _stop.Dispose();
    }
}
