namespace EdgeEvents.Llm.Scene;

/// <summary>
/// A bounded set of the most recently added ids: adding beyond the capacity forgets the oldest. Used to drop duplicate
/// scene events. Not thread-safe.
/// </summary>
internal sealed class RecentIds(int capacity)
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Count => _ids.Count;

    public bool Contains(string id) => _ids.Contains(id);

    /// <summary>Adds the id; false if it was already there.</summary>
    public bool Add(string id)
    {
        if (!_ids.Add(id)) return false;
        _order.Enqueue(id);
        if (_order.Count > capacity) _ids.Remove(_order.Dequeue());
        return true;
    }
}
