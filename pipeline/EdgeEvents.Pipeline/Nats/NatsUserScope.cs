using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Pipeline.Nats;

/// <summary>
/// Names a logged-in connection gives its reply inboxes and JetStream consumers, so that nats-server permissions can
/// pin them to the user: permissions match whole subject tokens only, so the user must be a token of its own. The
/// transport and <see cref="Security.AccessPolicy.RenderNatsAuthorization"/> both use these, which keeps them in step.
/// A user name that is not a valid topic level (<see cref="TopicScheme.IsValidName"/>) gets the unscoped names.
/// </summary>
public static class NatsUserScope
{
    /// <summary>
    /// Inbox prefix: <c>_INBOX.{user}</c> (inboxes <c>_INBOX.{user}.{nuid}</c>), else NATS's <c>_INBOX</c>.
    /// </summary>
    public static string InboxPrefix(string? user) =>
        Scoped(user) ? $"{NatsSubjects.InboxPrefix}{user}" : NatsSubjects.InboxPrefix[..^1];

    /// <summary>True if <paramref name="topic"/> is a NATS reply inbox (<c>_INBOX.…</c>).</summary>
    public static bool IsInbox(string topic) => NatsSubjects.IsInbox(topic);

    /// <summary>
    /// True if <paramref name="topic"/> is one of <paramref name="user"/>'s reply inboxes, which only that user may
    /// read.
    /// </summary>
    public static bool IsInboxOf(string topic, string user) =>
        Scoped(user) && topic.StartsWith($"{NatsSubjects.InboxPrefix}{user}.", StringComparison.Ordinal);

    /// <summary>Subjects a user's replies arrive on: <c>_INBOX.{user}.&gt;</c>.</summary>
    public static string Inboxes(string user) => $"{InboxPrefix(user)}.>";

    /// <summary>
    /// Name of the durable consumer on <paramref name="subject"/>: <c>{user}~{subject tokens, * as +, &gt; as #}</c>
    /// (<c>llm~edge~questions~#</c>), one per user and subject, so every process of that user shares it; without a
    /// usable user, <paramref name="durable"/> (with <c>-parent</c> for the parent subject of an MQTT <c>a/#</c>).
    /// </summary>
    public static string DurableConsumer(string? user, string durable, string subject, bool parent)
    {
        if (!Scoped(user)) return parent ? $"{durable}-parent" : durable;
        var tokens = subject.Split('.').Select(t => t switch { "*" => "+", ">" => "#", _ => t });
        return $"{user}~{string.Join('~', tokens)}";
    }

    private static bool Scoped(string? user) => user is not null && TopicScheme.IsValidName(user);
}
