namespace EdgeEvents.Llm.Questions;

/// <summary>
/// A bounded queue that serves keys (askers) in turn: one item of each waiting asker before a second of any, so an asker
/// who sends twenty questions does not delay everyone else's first. <see cref="EnqueueAsync"/> waits while the queue
/// holds <paramref name="capacity"/> items and refuses an asker's item beyond <paramref name="perKey"/>.
/// </summary>
internal sealed class FairQueue<T>(int capacity, int perKey)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<T>> _byKey = new(StringComparer.Ordinal);
    // Keys with waiting items, in serving order: the head is served next, then goes to the back.
    private readonly LinkedList<string> _turns = new();
    private readonly SemaphoreSlim _items = new(0);
    private readonly SemaphoreSlim _space = new(capacity);

    public int Count
    {
        get { lock (_lock) return _byKey.Values.Sum(q => q.Count); }
    }

    /// <summary>Adds an item for <paramref name="key"/>; false (not added) when that key already has <c>perKey</c> waiting.</summary>
    public async ValueTask<bool> EnqueueAsync(string key, T item, CancellationToken ct)
    {
        await _space.WaitAsync(ct);
        lock (_lock)
        {
            if (!_byKey.TryGetValue(key, out var queue)) _byKey[key] = queue = new Queue<T>();
            if (queue.Count >= perKey)
            {
                _space.Release();
                return false;
            }
            queue.Enqueue(item);
            if (queue.Count == 1) _turns.AddLast(key);
        }
        _items.Release();
        return true;
    }

    /// <summary>Takes the next item in round-robin order over keys, waiting for one if the queue is empty.</summary>
    public async ValueTask<T> DequeueAsync(CancellationToken ct)
    {
        await _items.WaitAsync(ct);
        T item;
        lock (_lock)
        {
            var key = _turns.First!.Value;
            _turns.RemoveFirst();
            var queue = _byKey[key];
            item = queue.Dequeue();
            if (queue.Count > 0) _turns.AddLast(key);
            else _byKey.Remove(key);
        }
        _space.Release();
        return item;
    }
}
