namespace EdgeEvents.Pipeline.Nats;

/// <summary>
/// NATS-only settings, next to the shared <see cref="Transport.TransportOptions"/>; meant for configuration section
/// <c>Transport:Nats</c>, bound as <see cref="Transport.TransportOptions.Nats"/>.
/// </summary>
public sealed record NatsOptions
{
    public const string Section = "Transport:Nats";

    public static NatsOptions Default { get; } = new();

    /// <summary>
    /// JetStream streams for at-least-once topics and retained state. Default: <see cref="NatsJetStreamOptions"/>
    /// with its defaults. Null: core NATS only. A server started without JetStream is detected at connect and
    /// degrades to core NATS with a warning.
    /// </summary>
    public NatsJetStreamOptions? JetStream { get; init; } = new();

    /// <summary>
    /// Prefix of reply inboxes (<c>{prefix}.{random}</c>), for request/reply and JetStream. Default null:
    /// <c>_INBOX.{Transport:Username}</c> when logged in (the shipped authorization lets each user read its own inboxes
    /// only), else <c>_INBOX</c>. Must be <c>_INBOX</c> or start with <c>_INBOX.</c>, without wildcards.
    /// </summary>
    public string? InboxPrefix { get; init; }
}

/// <summary>
/// The streams the NATS transport creates (or updates) at every connect. Subjects are NATS subjects; null lists
/// mean "derived from the topic prefix".
/// </summary>
public sealed record NatsJetStreamOptions
{
    /// <summary>Subjects of <see cref="Stream"/> when <see cref="Subjects"/> is null.</summary>
    public static IReadOnlyList<string> DefaultSubjects(string subjectPrefix) =>
        [
            $"{subjectPrefix}.events.>", $"{subjectPrefix}.questions", $"{subjectPrefix}.questions.>",
            $"{subjectPrefix}.answers", $"{subjectPrefix}.answers.>", $"{subjectPrefix}.errors.>",
        ];

    /// <summary>
    /// Subjects of <see cref="RetainedStream"/> when <see cref="RetainedSubjects"/> is null. Control messages too: a
    /// detector started after a model request (a restart, a pod the autoscaler adds) must still find it.
    /// </summary>
    public static IReadOnlyList<string> DefaultRetainedSubjects(string subjectPrefix) =>
        [
            $"{subjectPrefix}.scene.>", $"{subjectPrefix}.snapshots.>",
            $"{subjectPrefix}.status.>", $"{subjectPrefix}.control.>",
        ];

    public const string DefaultStream = "EDGE";
    public const string DefaultRetainedStream = "EDGE_RETAINED";

    /// <summary>Stream that stores at-least-once topics. Default <c>EDGE</c>.</summary>
    public string Stream { get; init; } = DefaultStream;

    /// <summary>
    /// Subjects of <see cref="Stream"/>. Default null: events, questions, answers and errors under the prefix
    /// (<c>edge.events.&gt;</c>, <c>edge.questions</c>, <c>edge.questions.&gt;</c>, <c>edge.answers</c>,
    /// <c>edge.answers.&gt;</c>, <c>edge.errors.&gt;</c>).
    /// </summary>
    public IReadOnlyList<string>? Subjects { get; init; }

    /// <summary>
    /// Streams <see cref="Stream"/> sources, e.g. a fleet site's questions at the hub. Default null: the stream keeps
    /// the sources it has (set by another client's configuration); an empty list removes them.
    /// </summary>
    public IReadOnlyList<NatsStreamSource>? Sources { get; init; }

    /// <summary>Messages older than this are removed from <see cref="Stream"/>. Default 1 day.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Size cap of <see cref="Stream"/>; the oldest messages go first. Default 1 GiB.</summary>
    public long MaxBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Stream keeping the last message per subject of retained topics (MQTT's retain flag). Default
    /// <c>EDGE_RETAINED</c>. Null: no retained state on NATS.
    /// </summary>
    public string? RetainedStream { get; init; } = DefaultRetainedStream;

    /// <summary>
    /// Subjects of <see cref="RetainedStream"/>. Default null: <c>edge.scene.&gt;</c>, <c>edge.snapshots.&gt;</c>,
    /// <c>edge.status.&gt;</c> and <c>edge.control.&gt;</c>.
    /// </summary>
    public IReadOnlyList<string>? RetainedSubjects { get; init; }

    /// <summary>
    /// Whether this client creates a missing stream and updates one whose settings differ. False for clients whose
    /// user may not (the shipped authorization gives it to the stream-owning roles only: cameras, askers and
    /// dashboards wait for a stream owner instead of sending requests the server refuses). Default true.
    /// </summary>
    public bool ManageStreams { get; init; } = true;

    /// <summary>
    /// How long a durable consumer waits for an acknowledgement before redelivering. Default 30 s. Keep it above
    /// the time a message can wait in the subscription's channel plus its handling time.
    /// </summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);
}
