using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Fleet.Tests;

/// <summary>The fleet component's site statuses (<c>fleet/sites/+</c>) as a hub client sees them.</summary>
internal sealed class FleetWatch : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SiteStatus> _latest = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    public FleetWatch(IMessageSubscription subscription) =>
        _reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in subscription.Messages.ReadAllAsync(_stop.Token))
                {
                    var status = MessageCodec.Deserialize<SiteStatus>(message.Payload, message.ContentType);
                    _latest[status.Site] = status;
                }
            }
            catch (OperationCanceledException) { }
        });

    public static async Task<FleetWatch> StartAsync(IMessageTransport hub) =>
        new(await hub.SubscribeAsync(new SubscriptionRequest(Contracts.Topics.FleetTopics.AllSiteStatuses), default));

    public SiteStatus? Latest(string site) => _latest.GetValueOrDefault(site);

    /// <summary>Waits until the site's latest status is <paramref name="state"/>; returns it.</summary>
    public Task<SiteStatus> WaitForAsync(string site, string state, TimeSpan timeout) =>
        WaitForAsync(site, s => s.State == state, $"'{state}'", timeout);

    /// <summary>Waits until the site's latest status is <paramref name="wanted"/> (<paramref name="what"/>); returns it.</summary>
    public async Task<SiteStatus> WaitForAsync(string site, Func<SiteStatus, bool> wanted, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Latest(site) is { } status && wanted(status)) return status;
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"fleet/sites/{site} was not {what} within {timeout.TotalSeconds:0} s; last: {(Latest(site) is { } s ? s.State : "none")}.");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reading;
        _stop.Dispose();
    }
}
