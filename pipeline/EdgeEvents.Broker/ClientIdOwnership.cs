using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// Client ids belong to users (on when the broker has users). A session — connected, or persistent and waiting
/// (in memory or in the <see cref="DurableSessions"/> store) — belongs to the user who opened it, and its client id
/// is refused to every other user with <c>ClientIdentifierNotValid</c> (MQTT 5; <c>IdentifierRejected</c> in 3.1.1):
/// nobody can push a component off its connection or resume its subscriptions and queued messages by guessing its
/// client id. The owner is released when the session ends (clean session closed, expired, replaced by a clean start
/// of the same user). What a session receives is also checked at delivery against its owner's read permissions, so a
/// subscription never outlives the right to read it.
/// </summary>
internal sealed class ClientIdOwnership
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);
    private readonly Func<string, string, bool> _mayRead;
    private readonly ILogger _logger;
    private long _refused;

    /// <param name="stored">Owners of the sessions a durable store restored.</param>
    /// <param name="mayRead">Whether a user may read a topic.</param>
    public ClientIdOwnership(
        IEnumerable<KeyValuePair<string, string>> stored, Func<string, string, bool> mayRead, ILogger logger)
    {
        foreach (var (clientId, owner) in stored) _owners[clientId] = owner;
        _mayRead = mayRead;
        _logger = logger;
    }

    /// <summary>Connections refused because their client id belongs to another user, since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public void Attach(MqttServer server)
    {
        server.ValidatingConnectionAsync += e =>
        {
            // Refused already (bad login), or an id the broker assigns: nothing to own.
            if (e.ReasonCode != MqttConnectReasonCode.Success || string.IsNullOrEmpty(e.ClientId))
                return Task.CompletedTask;
            if (!_owners.TryGetValue(e.ClientId, out var owner) || owner == e.UserName) return Task.CompletedTask;
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            e.ReasonString = "This client id belongs to another user's session.";
            Interlocked.Increment(ref _refused);
            _logger.LogWarning("Refused connection of {User} from {Endpoint} as client {ClientId}: " +
                "that client id belongs to {Owner}'s session",
                e.UserName, e.RemoteEndPoint, e.ClientId, owner);
            return Task.CompletedTask;
        };
        server.ClientConnectedAsync += e =>
        {
            _owners[e.ClientId] = e.UserName ?? "";
            return Task.CompletedTask;
        };
        server.SessionDeletedAsync += e =>
        {
            _owners.TryRemove(e.Id, out _);
            return Task.CompletedTask;
        };
        server.InterceptingClientEnqueueAsync += e =>
        {
            if (!e.AcceptEnqueue || !_owners.TryGetValue(e.ReceiverClientId, out var owner)
                || _mayRead(owner, e.ApplicationMessage.Topic))
            {
                return Task.CompletedTask;
            }
            e.AcceptEnqueue = false;
            _logger.LogWarning("Did not deliver {Topic} to {ClientId}: its user {User} may not read it",
                e.ApplicationMessage.Topic, e.ReceiverClientId, owner);
            return Task.CompletedTask;
        };
    }
}
