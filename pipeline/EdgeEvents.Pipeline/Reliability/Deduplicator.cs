using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Pipeline.Reliability;

/// <summary>
/// Remembers the message ids a subscription delivered within a window (at most <c>count</c> ids, none older than
/// <c>age</c>) so a redelivered copy is suppressed: at-least-once on the wire, exactly once for the handler.
/// Used by <see cref="SubscriptionChannel"/>, so both transports get it.
/// </summary>
/// <remarks>
/// With manual acknowledgement, a copy that arrives while the original is still being handled is acknowledged only
/// when the original is: acknowledging it at once would let the broker forget a message a crash could still lose.
/// The window lives in memory: across a consumer restart, handlers must tolerate a redelivered message (ids are
/// stable, so they can check).
/// </remarks>
public sealed class Deduplicator
{
    private static readonly System.Diagnostics.Metrics.Counter<long> Suppressed =
        EdgeTelemetry.Meter.CreateCounter<long>("edge.messages.duplicates", unit: "{message}",
            description: "Redelivered messages suppressed by consumer-side de-duplication, by filter.");

    private readonly int _count;
    private readonly TimeSpan _age;
    private readonly string _filter;
    private readonly Dictionary<string, Entry> _seen = new(StringComparer.Ordinal);
    private readonly Queue<(string Id, DateTime At)> _order = new();
    private readonly Lock _gate = new();
    private long _duplicates;

    public Deduplicator(int count, TimeSpan age, string filter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _count = count;
        _age = age;
        _filter = filter;
    }

    /// <summary>Duplicates suppressed so far.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>
    /// Checks a received message. For a new one, returns it (its acknowledgement now also releases copies that
    /// arrive before it is handled). For a duplicate, returns true and the copy whose
    /// <see cref="ReceivedMessage.AckAsync"/> the caller must invoke: it acknowledges now, or does nothing when the
    /// acknowledgement waits for the original. Messages without an id are never duplicates.
    /// </summary>
    public (bool Duplicate, ReceivedMessage Message) Check(ReceivedMessage message)
    {
        if (message.MessageId is not { } id) return (false, message);
        var now = DateTime.UtcNow;
        lock (_gate)
        {
            Evict(now);
            if (_seen.TryGetValue(id, out var seen))
            {
                Interlocked.Increment(ref _duplicates);
                Suppressed.Add(1, new KeyValuePair<string, object?>("filter", _filter));
                if (message.Acknowledge is { } ack && !seen.Handled)
                {
                    (seen.Waiting ??= []).Add(ack);
                    return (true, message with { Acknowledge = null });
                }
                return (true, message);
            }
            var entry = new Entry { Handled = message.Acknowledge is null };
            _seen[id] = entry;
            _order.Enqueue((id, now));
            if (message.Acknowledge is { } original)
                message = message with { Acknowledge = ct => AcknowledgeAsync(entry, original, ct) };
            return (false, message);
        }
    }

    private async ValueTask AcknowledgeAsync(Entry entry, Func<CancellationToken, ValueTask> original,
        CancellationToken ct)
    {
        List<Func<CancellationToken, ValueTask>>? waiting;
        lock (_gate)
        {
            entry.Handled = true;
            waiting = entry.Waiting;
            entry.Waiting = null;
        }
        // Copies came on a newer connection than the original, whose own acknowledgement may no
        // longer reach the broker.
        if (waiting is not null)
            foreach (var ack in waiting) await ack(ct);
        await original(ct);
    }

    private void Evict(DateTime now)
    {
        while (_order.Count > 0 && (_order.Count >= _count || now - _order.Peek().At > _age))
            _seen.Remove(_order.Dequeue().Id);
    }

    private sealed class Entry
    {
        public bool Handled;
        public List<Func<CancellationToken, ValueTask>>? Waiting;
    }
}
