using System.Text;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;

namespace EdgeEvents.Pipeline.Security;

/// <summary>What a broker user is for; decides the topics it may publish and subscribe to.</summary>
public enum BrokerRole
{
    /// <summary>Publishes its own frames only: <c>{prefix}/frames/{user}</c>.</summary>
    Camera,
    /// <summary>
    /// Reads frames and its model control message, publishes detections, annotated snapshots and model states.
    /// </summary>
    Detector,
    /// <summary>Reads detections, publishes scene state and events.</summary>
    Scene,
    /// <summary>Reads questions, scene state and events; publishes answers.</summary>
    Llm,
    /// <summary>Reads everything; publishes only its own status, errors and stats, as its transport does.</summary>
    Dashboard,
    /// <summary>Asks questions as <c>{prefix}/questions/{user}</c> and reads its own answers only.</summary>
    Asker,
    /// <summary>Everything.</summary>
    Admin,
}

public enum TopicAccess { Publish, Subscribe }

/// <summary>One permission: publish to topics matching, or subscribe to filters within, an MQTT filter.</summary>
public sealed record TopicRule(TopicAccess Access, string Filter);

/// <summary>
/// The per-role topic permissions, in one place: the embedded broker enforces them, and the shipped mosquitto ACL
/// and NATS authorization block are rendered from them (a test keeps the files in step).
/// Every role may also publish its own <c>status</c>, <c>errors</c> and <c>stats</c> topics, which
/// carry the component name: a component's user name is its component name (a camera's is its camera id).
/// </summary>
public static class AccessPolicy
{
    public static IReadOnlyList<TopicRule> Rules(BrokerRole role, string user, string prefix)
    {
        if (!TopicScheme.IsValidName(user))
        {
            throw new ArgumentException(
                $"User name '{user}' must be usable as one topic level (letters, digits, '-', '_'): " +
                "it appears in the topics it may use.",
                nameof(user));
        }
        var p = prefix;
        TopicRule Pub(string filter) => new(TopicAccess.Publish, filter);
        TopicRule Sub(string filter) => new(TopicAccess.Subscribe, filter);
        List<TopicRule> own = [Pub($"{p}/status/{user}"), Pub($"{p}/errors/{user}"), Pub($"{p}/stats/{user}")];
        return role switch
        {
            BrokerRole.Camera => [Pub($"{p}/frames/{user}"), .. own],
            // Model rollout: the control message, and the model state under the detector's client id (not its user).
            BrokerRole.Detector => [Sub($"{p}/frames/+"), Pub($"{p}/detections/+"), Pub($"{p}/snapshots/+"),
                Sub($"{p}/control/detector/model"), Pub($"{p}/status/detector/+/model"), .. own],
            BrokerRole.Scene => [Sub($"{p}/detections/+"), Pub($"{p}/scene/+"), Pub($"{p}/events/+"), .. own],
            BrokerRole.Llm => [Sub($"{p}/questions/#"), Sub($"{p}/scene/+"), Sub($"{p}/events/+"),
                Pub($"{p}/answers/#"), .. own],
            BrokerRole.Dashboard => [Sub($"{p}/#"), .. own],
            BrokerRole.Asker => [Pub($"{p}/questions/{user}"), Sub($"{p}/answers/{user}"), .. own],
            BrokerRole.Admin => [Pub("#"), Sub("#")],
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown role."),
        };
    }

    public static bool MayPublish(IReadOnlyList<TopicRule> rules, string topic) =>
        rules.Any(r => r.Access == TopicAccess.Publish && TopicScheme.Matches(r.Filter, topic));

    /// <summary>
    /// True if every topic <paramref name="filter"/> can match is allowed (a shared subscription's group is ignored).
    /// </summary>
    public static bool MaySubscribe(IReadOnlyList<TopicRule> rules, string filter)
    {
        if (filter.StartsWith("$share/", StringComparison.Ordinal))
        {
            var slash = filter.IndexOf('/', 7);
            if (slash < 0) return false;
            filter = filter[(slash + 1)..];
        }
        return rules.Any(r => r.Access == TopicAccess.Subscribe && Covers(r.Filter, filter));
    }

    /// <summary>True if the allowed filter matches every topic the requested filter matches.</summary>
    public static bool Covers(string allowed, string requested)
    {
        var a = allowed.Split('/');
        var r = requested.Split('/');
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] == "#") return true;
            if (i >= r.Length || r[i] == "#") return false;
            if (a[i] == "+") continue;
            if (a[i] != r[i]) return false;
        }
        return a.Length == r.Length;
    }

    /// <summary>
    /// The policy as a mosquitto <c>acl_file</c> (publish → <c>write</c>, subscribe → <c>read</c>).
    /// </summary>
    public static string RenderMosquittoAcl(IEnumerable<KeyValuePair<string, BrokerRole>> users, string prefix)
    {
        var acl = new StringBuilder();
        acl.Append("# EdgeEvents topic permissions for mosquitto (acl_file). " +
            "Rendered from EdgeEvents.Pipeline.Security.AccessPolicy\n");
        acl.Append("# for the users in broker-users.json; a test fails when the two disagree. " +
            "Anonymous clients get nothing.\n");
        foreach (var (user, role) in users)
        {
            acl.Append($"\n# role: {role.ToString().ToLowerInvariant()}\nuser {user}\n");
            foreach (var rule in Rules(role, user, prefix))
                acl.Append($"topic {(rule.Access == TopicAccess.Publish ? "write" : "read")} {rule.Filter}\n");
        }
        return acl.ToString();
    }

    /// <summary>
    /// The policy as a nats-server <c>authorization</c> block. Passwords come from environment variables
    /// (<c>EDGE_PASSWORD_{USER}</c>), never from the file. Besides its topics, every user but the admin gets:
    /// <list type="bullet">
    /// <item>its own reply inboxes only, <c>_INBOX.{user}.&gt;</c> (the transport's inbox prefix when logged in);
    /// the LLM worker may publish to any inbox, to answer NATS requests;</item>
    /// <item>reading the EdgeEvents streams' configuration (<c>STREAM.INFO</c>, <c>STREAM.NAMES</c>), which the
    /// transport does at connect; creating and updating them only for the roles that own them
    /// (<see cref="OwnsStreams"/>); deleting or purging them, or deleting their messages, for nobody but the
    /// admin;</item>
    /// <item>JetStream consumers scoped to what it may read: on the <c>EDGE</c> stream one durable consumer per
    /// subscribe subject, named <c>{user}~{subject}</c> (<see cref="NatsUserScope.DurableConsumer"/>), created only
    /// through the create subject that carries the filter, and pulled, acknowledged and inspected by that name alone;
    /// on <c>EDGE_RETAINED</c>, where retained state is replayed through short-lived consumers, consumers filtered
    /// within its subscribe subjects (any name: their pulls are not pinned, so every user reading some retained state
    /// can pull another's replay);</item>
    /// <item><c>$MQTT.sub.&gt;</c> when it subscribes at all, except askers: the MQTT gateway delivers QoS 1
    /// subscriptions there, every user's alike.</item>
    /// </list>
    /// </summary>
    public static string RenderNatsAuthorization(IEnumerable<KeyValuePair<string, BrokerRole>> users, string prefix)
    {
        var nats = new StringBuilder();
        nats.Append("# EdgeEvents topic permissions for nats-server (include this file from nats-server.conf).\n");
        nats.Append("# Rendered from EdgeEvents.Pipeline.Security.AccessPolicy for the users in broker-users.json.\n");
        nats.Append("# Passwords come from the environment (EDGE_PASSWORD_<USER>, upper case, '-' as '_'); " +
            "never write them here.\n");
        nats.Append("authorization {\n  users = [\n");
        foreach (var (user, role) in users)
        {
            var rules = Rules(role, user, prefix);
            var publish = rules
                .Where(r => r.Access == TopicAccess.Publish)
                .SelectMany(r => ToNatsSubjects(r.Filter))
                .ToList();
            var subscribe = rules
                .Where(r => r.Access == TopicAccess.Subscribe)
                .SelectMany(r => ToNatsSubjects(r.Filter))
                .ToList();
            if (role != BrokerRole.Admin)
            {
                publish.AddRange(StreamInfo);
                if (OwnsStreams(role)) publish.AddRange(StreamSetUp);
                publish.AddRange(ConsumerPermissions(user, subscribe, TopicScheme.ToNatsSubject(prefix)));
                if (role == BrokerRole.Llm) publish.Add($"{NatsSubjects.InboxPrefix}>");
                // The MQTT gateway delivers QoS 1 subscriptions of MQTT clients on $MQTT.sub.{random}; a user allowed
                // those reads every user's QoS 1 deliveries, so askers (the untrusted role) get QoS 0 there only.
                if (subscribe.Count > 0 && role != BrokerRole.Asker) subscribe.Add("$MQTT.sub.>");
                subscribe.Add(NatsUserScope.Inboxes(user));
            }
            nats.Append($"    # role: {role.ToString().ToLowerInvariant()}\n");
            nats.Append($"    {{ user: \"{user}\", password: ${PasswordVariable(user)}, permissions: {{\n");
            nats.Append($"        publish: {{ allow: [{Quoted(publish)}] }}\n");
            nats.Append($"        subscribe: {{ allow: [{Quoted(subscribe)}] }} }} }}\n");
        }
        nats.Append("  ]\n}\n");
        return nats.ToString();
    }

    private const string Stream = NatsJetStreamOptions.DefaultStream;
    private const string RetainedStream = NatsJetStreamOptions.DefaultRetainedStream;

    /// <summary>
    /// True for the roles that may create and update the JetStream streams: the pipeline's services, which the
    /// operator runs. Not cameras (many devices in the field, whose credentials are the easiest to steal), askers
    /// (untrusted) or the read-only dashboard: whoever may update a stream may set its limits to one message and so
    /// destroy every stored event, question and answer.
    /// </summary>
    public static bool OwnsStreams(BrokerRole role) =>
        role is BrokerRole.Detector or BrokerRole.Scene or BrokerRole.Llm;

    /// <summary>
    /// Every NatsTransport reads its streams at connect (<see cref="NatsJetStreamOptions"/> defaults); durable
    /// subscriptions look them up by subject.
    /// </summary>
    private static readonly string[] StreamInfo = ["$JS.API.STREAM.NAMES", "$JS.API.STREAM.INFO.>"];

    /// <summary>
    /// A stream owner's transport creates a missing stream and updates one configured unlike it wants.
    /// </summary>
    private static readonly string[] StreamSetUp =
    [
        $"$JS.API.STREAM.CREATE.{Stream}", $"$JS.API.STREAM.UPDATE.{Stream}",
        $"$JS.API.STREAM.CREATE.{RetainedStream}", $"$JS.API.STREAM.UPDATE.{RetainedStream}",
    ];

    /// <summary>
    /// The JetStream consumer API subjects a user reading <paramref name="subscribe"/> needs, and no more: the
    /// consumer-create subject carries the filter (nats-server 2.9+), so a permission on it scopes what the consumer
    /// may read; pulls (<c>MSG.NEXT</c>) and acknowledgements name only the consumer, so those are pinned by name.
    /// </summary>
    private static IEnumerable<string> ConsumerPermissions(
        string user, IReadOnlyList<string> subscribe, string subjectPrefix)
    {
        var stored = NatsJetStreamOptions.DefaultSubjects(subjectPrefix);
        var retained = NatsJetStreamOptions.DefaultRetainedSubjects(subjectPrefix);
        var readsRetained = false;
        foreach (var subject in subscribe)
        {
            if (stored.Any(s => NatsSubjects.Intersect(subject, s) is not null))
            {
                var name = NatsUserScope.DurableConsumer(user, user, subject, parent: false);
                yield return $"$JS.API.CONSUMER.CREATE.{Stream}.{name}.{subject}";
                yield return $"$JS.API.CONSUMER.INFO.{Stream}.{name}";
                yield return $"$JS.API.CONSUMER.MSG.NEXT.{Stream}.{name}";
                yield return $"$JS.ACK.{Stream}.{name}.>";
            }
            if (retained.Any(s => NatsSubjects.Intersect(subject, s) is not null))
            {
                readsRetained = true;
                yield return $"$JS.API.CONSUMER.CREATE.{RetainedStream}.*.{subject}";
            }
        }
        if (!readsRetained) yield break;
        yield return $"$JS.API.CONSUMER.MSG.NEXT.{RetainedStream}.*";
        yield return $"$JS.API.CONSUMER.DELETE.{RetainedStream}.*";
    }

    /// <summary>The environment variable holding a user's NATS password.</summary>
    public static string PasswordVariable(string user) => $"EDGE_PASSWORD_{user.ToUpperInvariant().Replace('-', '_')}";

    // MQTT '#' also matches the parent level; NATS '>' does not, so the parent is listed too.
    private static IEnumerable<string> ToNatsSubjects(string mqttFilter)
    {
        if (mqttFilter == "#") return [">"];
        var subject = TopicScheme.ToNatsSubject(mqttFilter);
        return mqttFilter.EndsWith("/#", StringComparison.Ordinal) ? [subject[..^2], subject] : [subject];
    }

    private static string Quoted(IEnumerable<string> subjects) => string.Join(", ", subjects.Select(s => $"\"{s}\""));
}
