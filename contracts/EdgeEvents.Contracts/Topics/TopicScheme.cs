namespace EdgeEvents.Contracts.Topics;

/// <summary>What a topic carries; decides its QoS, retain flag and default payload format.</summary>
public enum TopicKind
{
    Unknown, Frames, Detections, Scene, Events, Questions, Answers, Status, Errors, Stats, Snapshots
}

/// <summary>
/// The one place that defines topic names. MQTT form uses <c>/</c> (<c>edge/frames/cam1</c>);
/// NATS subjects are the same names with <c>.</c> (<c>edge.frames.cam1</c>), as nats-server's MQTT gateway maps them.
/// </summary>
public sealed class TopicScheme
{
    public const string DefaultPrefix = "edge";

    public TopicScheme(string prefix = DefaultPrefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        if (prefix.IndexOfAny(['+', '#', '.', ' ', '*', '>']) >= 0 || prefix.StartsWith('/') || prefix.EndsWith('/'))
            throw new ArgumentException(
                $"Topic prefix '{prefix}' must not contain wildcards, dots or spaces, nor start or end with '/'.",
                nameof(prefix));
        Prefix = prefix;
    }

    public string Prefix { get; }

    public string Frames(string camera) => Topic("frames", camera);
    public string Detections(string camera) => Topic("detections", camera);
    public string Scene(string camera) => Topic("scene", camera);
    public string Events(string camera) => Topic("events", camera);
    /// <summary>
    /// Annotated JPEG of a camera's latest processed frame, retained (detector); NATS <c>edge.snapshots.{camera}</c>.
    /// </summary>
    public string Snapshots(string camera) => Topic("snapshots", camera);
    public string Questions(string? asker = null) => asker is null ? $"{Prefix}/questions" : Topic("questions", asker);
    public string Answers(string? asker = null) => asker is null ? $"{Prefix}/answers" : Topic("answers", asker);
    public string Status(string component) => Topic("status", component);
    public string Errors(string component) => Topic("errors", component);
    public string Stats(string component) => Topic("stats", component);

    /// <summary><c>{prefix}/status/detector/{clientId}/model</c>: a detector's retained model rollout state.</summary>
    public string DetectorModel(string clientId) => $"{Prefix}/status/detector/{clientId}/model";

    /// <summary>The detector's client id of a <see cref="DetectorModel"/> topic; null for any other topic.</summary>
    public string? DetectorOfModel(string topic)
    {
        var start = $"{Prefix}/status/detector/";
        if (!topic.StartsWith(start, StringComparison.Ordinal) || !topic.EndsWith("/model", StringComparison.Ordinal))
            return null;
        var clientId = topic[start.Length..^"/model".Length];
        return clientId.Length == 0 || clientId.Contains('/') ? null : clientId;
    }

    /// <summary>Filter for one kind across all cameras/components, e.g. <c>edge/frames/+</c>.</summary>
    public string AllOf(TopicKind kind) => kind switch
    {
        TopicKind.Questions => $"{Prefix}/questions/#",
        _ => $"{Prefix}/{Segment(kind)}/+",
    };

    /// <summary>Everything under the prefix.</summary>
    public string Everything => $"{Prefix}/#";

    /// <summary>
    /// Splits a concrete topic into its kind and the name after the kind (camera, asker or component).
    /// </summary>
    public (TopicKind Kind, string? Name) Parse(string topic)
    {
        if (!topic.StartsWith(Prefix + "/", StringComparison.Ordinal)) return (TopicKind.Unknown, null);
        var rest = topic.AsSpan(Prefix.Length + 1);
        var slash = rest.IndexOf('/');
        var segment = slash < 0 ? rest : rest[..slash];
        var name = slash < 0 ? null : rest[(slash + 1)..].ToString();
        var kind = segment switch
        {
            "frames" => TopicKind.Frames,
            "detections" => TopicKind.Detections,
            "scene" => TopicKind.Scene,
            "events" => TopicKind.Events,
            "questions" => TopicKind.Questions,
            "answers" => TopicKind.Answers,
            "status" => TopicKind.Status,
            "errors" => TopicKind.Errors,
            "stats" => TopicKind.Stats,
            "snapshots" => TopicKind.Snapshots,
            _ => TopicKind.Unknown,
        };
        // Only questions and answers may omit the name (anonymous asker); the rest need exactly one name segment.
        if (kind is TopicKind.Questions or TopicKind.Answers) return (kind, name);
        if (kind == TopicKind.Unknown || string.IsNullOrEmpty(name) || name.Contains('/'))
            return (TopicKind.Unknown, null);
        return (kind, name);
    }

    /// <summary>A camera, asker or component name usable as one topic level.</summary>
    public static bool IsValidName(string name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 128 &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// MQTT topic or filter to NATS subject: <c>/</c>→<c>.</c>, <c>+</c>→<c>*</c>, <c>#</c>→<c>&gt;</c>.
    /// </summary>
    public static string ToNatsSubject(string mqttTopic) =>
        string.Create(mqttTopic.Length, mqttTopic, static (span, t) =>
        {
            for (var i = 0; i < t.Length; i++)
                span[i] = t[i] switch { '/' => '.', '+' => '*', '#' => '>', var c => c };
        });

    /// <summary>NATS subject back to the MQTT form every component works with.</summary>
    public static string FromNatsSubject(string subject) => subject.Replace('.', '/');

    /// <summary>
    /// True if an MQTT topic filter (with <c>+</c> and <c>#</c>) matches a concrete topic. Allocation-free:
    /// it runs per message.
    /// </summary>
    public static bool Matches(string filter, string topic)
    {
        var f = filter.AsSpan();
        if (f.StartsWith("$share/"))
        {
            var groupEnd = f[7..].IndexOf('/');
            if (groupEnd < 0) return false;
            f = f[(8 + groupEnd)..];
        }
        var t = topic.AsSpan();
        while (true)
        {
            var fEnd = f.IndexOf('/');
            var fLevel = fEnd < 0 ? f : f[..fEnd];
            if (fLevel is "#") return true;
            var tEnd = t.IndexOf('/');
            var tLevel = tEnd < 0 ? t : t[..tEnd];
            if (fLevel is not "+" && !fLevel.SequenceEqual(tLevel)) return false;
            if (fEnd < 0 || tEnd < 0)
            {
                // Both ended: match. Filter continues with only "/#": matches the parent level too.
                if (fEnd < 0 && tEnd < 0) return true;
                return tEnd < 0 && f[(fEnd + 1)..] is "#";
            }
            f = f[(fEnd + 1)..];
            t = t[(tEnd + 1)..];
        }
    }

    private string Topic(string kind, string name)
    {
        if (!IsValidName(name))
            throw new ArgumentException(
                $"'{name}' is not a valid topic name level (letters, digits, '-' and '_', at most 128).", nameof(name));
        return $"{Prefix}/{kind}/{name}";
    }

    private static string Segment(TopicKind kind) => kind switch
    {
        TopicKind.Frames => "frames",
        TopicKind.Detections => "detections",
        TopicKind.Scene => "scene",
        TopicKind.Events => "events",
        TopicKind.Questions => "questions",
        TopicKind.Answers => "answers",
        TopicKind.Status => "status",
        TopicKind.Errors => "errors",
        TopicKind.Stats => "stats",
        TopicKind.Snapshots => "snapshots",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "No topic for this kind."),
    };
}
