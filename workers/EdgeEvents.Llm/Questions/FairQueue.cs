namespace EdgeEvents.Llm.Questions;

/// <summary>What <see cref="FairQueue{T}.Enqueue"/> did with an item.</summary>
internal enum Enqueued { Accepted, KeyFull, QueueFull }

/// <summary>
/// A bounded queue that serves keys (askers) in turn: one item of each waiting asker before a second of any, so an
/// asker who sends twenty questions does not delay everyone else's first. <see cref="Enqueue"/> never waits: it refuses
/// an item when the queue holds <paramref name="capacity"/> items or its key <paramref name="perKey"/>.
/// </summary>
internal sealed class FairQueue<T>(int capacity, int perKey)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<T>> _byKey = new(StringComparer.Ordinal);
    // Keys with waiting items, in serving order: the head is served next, then goes to the back.
    private readonly LinkedList<string> _turns = new();
    private readonly SemaphoreSlim _items = new(0);
    private int _count;

    public int Count
    {
        get { lock (_lock) return _count; }
    }

    /// <summary>
    /// Adds an item for <paramref name="key"/>. When accepted, <paramref name="position"/> is its place in the serving
    /// order (1: served next): the key's earlier items plus, per other key, as many as are served before it in turn.
    /// </summary>
    public Enqueued Enqueue(string key, T item, out int position)
    {
        position = 0;
        lock (_lock)
        {
            if (_count >= capacity) return Enqueued.QueueFull;
            if (!_byKey.TryGetValue(key, out var queue)) _byKey[key] = queue = new Queue<T>();
            if (queue.Count >= perKey)
            {
                if (queue.Count == 0) _byKey.Remove(key);
                return Enqueued.KeyFull;
            }
            var round = queue.Count;
            position = round + 1;
            foreach (var (other, items) in _byKey)
                if (other != key) position += Math.Min(items.Count, round + 1);
            queue.Enqueue(item);
            _count++;
            if (queue.Count == 1) _turns.AddLast(key);
        }
        _items.Release();
        return Enqueued.Accepted;
    }

    /// <summary>Takes the next item in round-robin order over keys, waiting for one if the queue is empty.</summary>
    public async ValueTask<T> DequeueAsync(CancellationToken ct)
    {
        await _items.WaitAsync(ct);
        lock (_lock)
        {
            var key = _turns.First!.Value;
            _turns.RemoveFirst();
            var queue = _byKey[key];
            var item = queue.Dequeue();
            _count--;
            if (queue.Count > 0) _turns.AddLast(key);
            else _byKey.Remove(key);
            return item;
        }
    }
}
