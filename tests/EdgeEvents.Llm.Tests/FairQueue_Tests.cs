using EdgeEvents.Llm.Questions;

namespace EdgeEvents.Llm.Tests;

public sealed class FairQueue_Tests
{
    [Fact]
    public async Task Askers_are_served_in_turn_whatever_order_they_asked_in_and_each_learns_its_place()
    {
        var queue = new FairQueue<string>(capacity: 20, perKey: 10);
        var positions = new Dictionary<string, int>();
        foreach (var item in new[] { "a1", "a2", "a3", "a4", "b1", "c1", "b2" })
        {
            Assert.Equal(Enqueued.Accepted, queue.Enqueue(item[..1], item, out var position));
            positions[item] = position;
        }

        var order = new List<string>();
        for (var i = 0; i < 7; i++) order.Add(await queue.DequeueAsync(default));

        Assert.Equal(["a1", "b1", "c1", "a2", "b2", "a3", "a4"], order);
        // The place announced on arrival is the place served at, unless a later asker's first question goes before it.
        Assert.Equal(order.IndexOf("b2") + 1, positions["b2"]);
        Assert.Equal(1, positions["a1"]);
        Assert.Equal(2, positions["b1"]);
    }

    [Fact]
    public async Task An_asker_over_its_limit_is_refused_and_a_full_queue_refuses_everyone_until_one_is_taken()
    {
        var queue = new FairQueue<int>(capacity: 3, perKey: 2);
        Assert.Equal(Enqueued.Accepted, queue.Enqueue("a", 1, out _));
        Assert.Equal(Enqueued.Accepted, queue.Enqueue("a", 2, out _));
        Assert.Equal(Enqueued.KeyFull, queue.Enqueue("a", 3, out _));
        Assert.Equal(Enqueued.Accepted, queue.Enqueue("b", 4, out _));

        Assert.Equal(Enqueued.QueueFull, queue.Enqueue("c", 5, out _));
        Assert.Equal(1, await queue.DequeueAsync(default));
        Assert.Equal(Enqueued.Accepted, queue.Enqueue("c", 5, out var position));
        Assert.Equal(3, position);
        Assert.Equal(3, queue.Count);
    }
}
