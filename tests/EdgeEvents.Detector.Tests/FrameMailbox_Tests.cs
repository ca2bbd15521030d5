using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Intake;
using Xunit;

namespace EdgeEvents.Detector.Tests;

public class FrameMailbox_Tests
{
    private static PendingFrame Frame(string camera, long sequence) =>
        new(new Frame { Camera = camera, Sequence = sequence, Data = [1] }, $"edge/frames/{camera}", 1, DateTimeOffset.UtcNow);

    [Fact]
    public void A_newer_frame_replaces_the_waiting_one_and_the_old_one_counts_as_superseded()
    {
        var stats = new DetectorStats();
        var mailbox = new FrameMailbox(8, stats);

        mailbox.Offer(Frame("a", 1));
        mailbox.Offer(Frame("a", 2));
        mailbox.Offer(Frame("a", 3));

        Assert.True(mailbox.TryTake(out var taken));
        Assert.Equal(3, taken.Frame.Sequence);
        Assert.False(mailbox.TryTake(out _));
        Assert.Equal(2, stats.Dropped("a", DropReasons.Superseded));
    }

    [Fact]
    public void Cameras_are_served_in_the_order_they_started_waiting()
    {
        var mailbox = new FrameMailbox(8, new DetectorStats());

        mailbox.Offer(Frame("a", 1));
        mailbox.Offer(Frame("b", 1));
        mailbox.Offer(Frame("a", 2));
        mailbox.Offer(Frame("c", 1));

        var order = new List<string>();
        while (mailbox.TryTake(out var f)) order.Add($"{f.Frame.Camera}{f.Frame.Sequence}");
        Assert.Equal(["a2", "b1", "c1"], order);
    }

    [Fact]
    public void A_camera_beyond_the_waiting_limit_is_dropped_and_counted()
    {
        var stats = new DetectorStats();
        var mailbox = new FrameMailbox(2, stats);

        Assert.True(mailbox.Offer(Frame("a", 1)));
        Assert.True(mailbox.Offer(Frame("b", 1)));
        Assert.False(mailbox.Offer(Frame("c", 1)));

        Assert.Equal(2, mailbox.Count);
        Assert.Equal(1, stats.Dropped("c", DropReasons.TooManyCameras));
    }

    [Fact]
    public async Task A_waiting_taker_gets_the_next_frame_offered()
    {
        var mailbox = new FrameMailbox(8, new DetectorStats());
        var take = mailbox.TakeAsync(CancellationToken.None).AsTask();
        Assert.False(take.IsCompleted);

        mailbox.Offer(Frame("a", 7));

        Assert.Equal(7, (await take.WaitAsync(TimeSpan.FromSeconds(5))).Frame.Sequence);
    }
}
