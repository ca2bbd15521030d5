using EdgeEvents.Llm.Questions;

namespace EdgeEvents.Llm.Tests;

public sealed class FairQueue_Tests
{
    [Fact]
    public async Task Askers_are_served_in_turn_whatever_order_they_asked_in()
    {
        var queue = new FairQueue<string>(capacity: 20, perKey: 10);
        foreach (var item in new[] { "a1", "a2", "a3", "a4", "b1", "c1", "b2" })
            Assert.True(await queue.EnqueueAsync(item[..1], item, default));

        var order = new List<string>();
        for (var i = 0; i < 7; i++) order.Add(await queue.DequeueAsync(default));

        Assert.Equal(["a1", "b1", "c1", "a2", "b2", "a3", "a4"], order);
    }

    [Fact]
    public async Task An_asker_over_its_limit_is_refused_and_a_full_queue_makes_the_writer_wait()
    {
        var queue = new FairQueue<int>(capacity: 3, perKey: 2);
        Assert.True(await queue.EnqueueAsync("a", 1, default));
        Assert.True(await queue.EnqueueAsync("a", 2, default));
        Assert.False(await queue.EnqueueAsync("a", 3, default));
        Assert.True(await queue.EnqueueAsync("b", 4, default));

        var blocked = queue.EnqueueAsync("c", 5, default).AsTask();
        Assert.False(blocked.IsCompleted);
        Assert.Equal(1, await queue.DequeueAsync(default));
        Assert.True(await blocked);
        Assert.Equal(3, queue.Count);
    }
}
