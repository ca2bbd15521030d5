using System.Threading.Channels;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Testing;

public static class Receive
{
    /// <summary>Reads <paramref name="count"/> messages or fails with how many arrived before the timeout.</summary>
    public static async Task<List<ReceivedMessage>> ExactlyAsync(
        IMessageSubscription subscription, int count, TimeSpan timeout)
    {
        var received = new List<ReceivedMessage>(count);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (received.Count < count)
                received.Add(await subscription.Messages.ReadAsync(cts.Token));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Received {received.Count} of {count} messages on " +
                $"'{subscription.Request.Filter}' within {timeout.TotalSeconds:0.#} s.");
        }
        return received;
    }

    /// <summary>Everything that arrives until the channel stays quiet for <paramref name="quiet"/>.</summary>
    public static async Task<List<ReceivedMessage>> UntilQuietAsync(
        ChannelReader<ReceivedMessage> reader, TimeSpan quiet)
    {
        var received = new List<ReceivedMessage>();
        while (true)
        {
            using var cts = new CancellationTokenSource(quiet);
            try { received.Add(await reader.ReadAsync(cts.Token)); }
            catch (OperationCanceledException) { return received; }
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds (checked every 50 ms), or fails after
    /// <paramref name="timeout"/>.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The condition did not hold within {timeout.TotalSeconds:0.#} s.");
            await Task.Delay(50);
        }
    }
}
