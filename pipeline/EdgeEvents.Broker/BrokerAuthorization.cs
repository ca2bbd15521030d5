using EdgeEvents.Pipeline.Security;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// Username/password and per-role topic permissions for the embedded broker, enforced by MQTTnet's validators:
/// a bad login is refused at CONNECT, a forbidden publish (last wills included) gets <c>NotAuthorized</c> and goes
/// nowhere, a forbidden subscription gets <c>NotAuthorized</c>. Passwords are never logged.
/// </summary>
internal sealed class BrokerAuthorization
{
    private readonly Dictionary<string, (string Hash, IReadOnlyList<TopicRule> Rules)> _users;
    private readonly ILogger _logger;

    private BrokerAuthorization(Dictionary<string, (string, IReadOnlyList<TopicRule>)> users, ILogger logger)
    {
        _users = users;
        _logger = logger;
    }

    /// <summary>The authorization for the configured users; null when there are none (anonymous broker).</summary>
    public static BrokerAuthorization? Create(BrokerOptions options, ILogger logger)
    {
        if (options.Users.Count == 0) return null;
        var hashes = options.PasswordFile is { Length: > 0 } file ? PasswordHash.ReadFile(file) : [];
        var users = new Dictionary<string, (string, IReadOnlyList<TopicRule>)>(StringComparer.Ordinal);
        var passwordFile = options.PasswordFile is null
            ? " (Broker:PasswordFile is not set)"
            : $" '{options.PasswordFile}'";
        foreach (var (name, user) in options.Users)
        {
            var hash = user.PasswordHash ?? (hashes.TryGetValue(name, out var h) ? h
                : throw new InvalidOperationException(
                    $"Broker user '{name}' has no PasswordHash and no line in the password file{passwordFile}."));
            users[name] = (hash, AccessPolicy.Rules(user.Role, name, options.Prefix));
        }
        return new BrokerAuthorization(users, logger);
    }

    public void Attach(MqttServer server)
    {
        server.ValidatingConnectionAsync += e =>
        {
            if (e.UserName is not { } name || !_users.TryGetValue(name, out var user)
                || !PasswordHash.Verify(e.Password ?? "", user.Hash))
            {
                e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
                _logger.LogWarning(
                    "Refused connection of client {ClientId} from {Endpoint}: " +
                    "unknown user or wrong password (user {User})",
                    e.ClientId, e.RemoteEndPoint, e.UserName ?? "(none)");
            }
            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += e =>
        {
            // Messages the broker itself injects have no client.
            if (string.IsNullOrEmpty(e.ClientId)) return Task.CompletedTask;
            if (RulesOf(e.UserName) is { } rules && AccessPolicy.MayPublish(rules, e.ApplicationMessage.Topic))
                return Task.CompletedTask;
            e.ProcessPublish = false;
            e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            e.Response.ReasonString = "Not authorized to publish to this topic.";
            _logger.LogWarning("Refused publish of {User} ({ClientId}) to {Topic}",
                e.UserName ?? "(none)", e.ClientId, e.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        server.InterceptingSubscriptionAsync += e =>
        {
            if (MayRead(e.UserName, e.TopicFilter.Topic)) return Task.CompletedTask;
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            e.ReasonString = "Not authorized to subscribe to this filter.";
            _logger.LogWarning("Refused subscription of {User} ({ClientId}) to {Filter}",
                e.UserName ?? "(none)", e.ClientId, e.TopicFilter.Topic);
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// Whether <paramref name="user"/> may read <paramref name="topicOrFilter"/> (a topic is a filter that matches only
    /// itself).
    /// </summary>
    public bool MayRead(string? user, string topicOrFilter) =>
        RulesOf(user) is { } rules && AccessPolicy.MaySubscribe(rules, topicOrFilter);

    private IReadOnlyList<TopicRule>? RulesOf(string? user) =>
        user is not null && _users.TryGetValue(user, out var u) ? u.Rules : null;
}
