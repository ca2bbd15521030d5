using System.Buffers;
using System.Threading.Channels;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>
    /// A core NATS subscription that turns each message into a <see cref="ReceivedMessage"/> on the client's socket
    /// reader and writes it straight into the subscription's channel: no client-side queue and pump in between. That
    /// reader also carries pongs and replies, so it never waits here. Under <see cref="OverloadPolicy.Wait"/> a message
    /// that finds the channel full becomes a pending write (the channel completes pending writes in arrival order);
    /// once as many are pending as the client would queue for a subscription
    /// (<see cref="NatsOpts.SubPendingChannelCapacity"/>),
    /// newer messages are dropped and counted: core NATS has no flow control to hold the publisher back with.
    /// </summary>
    private sealed class CoreSubscription : NatsSubBase
    {
        private readonly NatsTransport _owner;
        private readonly NatsSubscription _subscription;
        private readonly int _pendingLimit;
        private readonly Lock _gate = new();
        /// <summary>Live messages held back while retained ones are replayed; null once released.</summary>
        private List<ReceivedMessage>? _held;
        private int _pending;

        public CoreSubscription(
            NatsTransport owner, NatsSubscription subscription, string subject, string? queueGroup, bool holdLive)
            : base(owner._connection, owner._connection.SubscriptionManager, subject, queueGroup, opts: null)
        {
            _owner = owner;
            _subscription = subscription;
            _pendingLimit = owner._connection.Opts.SubPendingChannelCapacity;
            _held = holdLive ? [] : null;
        }

        protected override ValueTask ReceiveInternalAsync(
            string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer,
            ReadOnlySequence<byte> payloadBuffer)
        {
            try
            {
                // The buffers belong to the socket reader: Build copies the payload into an array of the message's own.
                var msg = NatsMsg<byte[]>.Build(
                    subject, replyTo, headersBuffer, payloadBuffer, Connection, Connection.HeaderParser,
                    BytesSerializer);
                if (_owner.Accept(msg.Subject, msg.Data, msg.Headers, msg.ReplyTo, retained: false) is { } received
                    && !TryHold(received))
                {
                    Deliver(received);
                }
            }
            catch (Exception ex)
            {
                // Whatever goes wrong with one message (a throwing Rejected handler) must not reach the connection's
                // reader.
                _owner._logger.LogError(ex, "Message on {Subject} dropped", subject);
                _subscription.Channel.CountDropped();
            }
            return ValueTask.CompletedTask;
        }

        /// <summary>
        /// While retained messages are replayed, keeps a live one back (or drops it when too many wait) and returns
        /// true.
        /// </summary>
        private bool TryHold(ReceivedMessage received)
        {
            if (Volatile.Read(ref _held) is null) return false;
            lock (_gate)
            {
                if (_held is null) return false;
                if (_held.Count < _pendingLimit) _held.Add(received);
                else _subscription.Channel.CountDropped();
                return true;
            }
        }

        /// <summary>True if a live message with this id on this topic is held back.</summary>
        public bool Holds(string topic, string messageId)
        {
            lock (_gate)
                return _held?.Exists(m => m.MessageId == messageId && m.Topic == topic) == true;
        }

        /// <summary>
        /// Delivers the held live messages except, per topic, the one the replay already delivered (its id is in
        /// <paramref name="replayed"/>) and those held before it, which are older than the state just replayed.
        /// </summary>
        public void ReleaseHeld(IReadOnlyDictionary<string, string> replayed)
        {
            lock (_gate)
            {
                var held = _held ?? [];
                var stale = new Dictionary<string, int>();
                for (var i = 0; i < held.Count; i++)
                {
                    if (held[i].MessageId is { } id
                        && replayed.TryGetValue(held[i].Topic, out var replayedId) && id == replayedId)
                    {
                        stale[held[i].Topic] = i;
                    }
                }
                for (var i = 0; i < held.Count; i++)
                {
                    if (!stale.TryGetValue(held[i].Topic, out var upTo) || i > upTo) Deliver(held[i]);
                }
                Volatile.Write(ref _held, null);
            }
        }

        private void Deliver(ReceivedMessage message)
        {
            if (Volatile.Read(ref _pending) >= _pendingLimit)
            {
                _subscription.Channel.CountDropped();
                return;
            }
            var write = _subscription.Channel.WriteAsync(message, CancellationToken.None);
            if (!write.IsCompletedSuccessfully) _ = AwaitPendingAsync(write);
        }

        private async Task AwaitPendingAsync(ValueTask write)
        {
            Interlocked.Increment(ref _pending);
            try
            {
                await write;
            }
            catch (ChannelClosedException)
            {
                // Unsubscribed while the message waited.
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }

        // The channel belongs to the NatsSubscription (several subjects may feed it); it completes it on dispose.
        protected override void TryComplete()
        {
        }
    }
}
