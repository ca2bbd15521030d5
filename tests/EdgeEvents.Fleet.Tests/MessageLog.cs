using System.Collections.Concurrent;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Fleet.Tests;

/// <summary>Everything a subscription delivers (after its de-duplication), with arrival times, read in the background.</summary>
public sealed class MessageLog : IAsyncDisposable
{
    private readonly ConcurrentQueue<Arrival> _arrivals = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    public MessageLog(IMessageSubscription subscription)
    {
        Subscription = subscription;
        _reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in subscription.Messages.ReadAllAsync(_stop.Token))
                    _arrivals.Enqueue(new Arrival(message, DateTime.UtcNow));
            }
            catch (OperationCanceledException) { }
        });
    }

    public sealed record Arrival(ReceivedMessage Message, DateTime At);

    public IMessageSubscription Subscription { get; }
    public IReadOnlyList<Arrival> Arrivals => [.. _arrivals];
    public DateTime LastArrival => _arrivals.LastOrDefault()?.At ?? DateTime.MinValue;

    /// <summary>The first arrival matching <paramref name="match"/>, waiting for it up to <paramref name="timeout"/>.</summary>
    public async Task<Arrival> WaitForAsync(Func<Arrival, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_arrivals.FirstOrDefault(match) is { } found) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No {what} on '{Subscription.Request.Filter}' within {timeout.TotalSeconds:0} s ({_arrivals.Count} messages arrived).");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reader;
        await Subscription.DisposeAsync();
        _stop.Dispose();
    }
}
