using System.Threading.Channels;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    private sealed class NatsSubscription(NatsTransport owner, SubscriptionRequest request) : IMessageSubscription
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<NatsSubBase> _subs = [];
        private readonly List<Task> _pumps = [];
        private int _disposed;

        public SubscriptionRequest Request { get; } = request;
        public SubscriptionChannel Channel { get; } = new(request, "nats");
        public ChannelReader<ReceivedMessage> Messages => Channel.Reader;
        /// <summary>
        /// Dropped by the overload policy, and core messages dropped because too many waited for a full channel.
        /// </summary>
        public long Dropped => Channel.Dropped;
        public long Duplicates => Channel.Duplicates;
        public CancellationToken Stopping => _stop.Token;

        public void Add(NatsSubBase sub) => _subs.Add(sub);
        public void Add(Task pump) => _pumps.Add(pump);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            owner._subscriptions.TryRemove(this, out _);
            await _stop.CancelAsync();
            foreach (var sub in _subs)
            {
                try { await sub.DisposeAsync(); }
                catch (Exception ex) { owner._logger.LogDebug(ex, "Unsubscribe from {Subject} failed", sub.Subject); }
            }
            await Task.WhenAll(_pumps);
            Channel.Complete();
            _stop.Dispose();
        }
    }
}
