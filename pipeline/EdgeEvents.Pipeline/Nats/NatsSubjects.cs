using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Pipeline.Nats;

/// <summary>Mapping between MQTT-form topics (used everywhere above the transport) and NATS subjects.</summary>
internal static class NatsSubjects
{
    /// <summary>Prefix of reply inboxes; such subjects pass through unmapped in both directions.</summary>
    public const string InboxPrefix = "_INBOX.";

    public static bool IsInbox(string subjectOrTopic) =>
        subjectOrTopic.StartsWith(InboxPrefix, StringComparison.Ordinal);

    /// <summary>Subject for a concrete topic; reply inboxes are kept as they are.</summary>
    public static string ForTopic(string topic) => IsInbox(topic) ? topic : TopicScheme.ToNatsSubject(topic);

    /// <summary>Topic for a received subject; reply inboxes are kept as they are.</summary>
    public static string ToTopic(string subject) => IsInbox(subject) ? subject : TopicScheme.FromNatsSubject(subject);

    /// <summary>
    /// Subjects that together match what an MQTT filter matches. MQTT's <c>a/#</c> also matches <c>a</c> itself,
    /// while NATS's <c>a.&gt;</c> needs at least one more token, so that filter becomes two subjects.
    /// </summary>
    public static IReadOnlyList<string> ForFilter(string filter)
    {
        if (IsInbox(filter)) return [filter];
        var subject = TopicScheme.ToNatsSubject(filter);
        return filter.EndsWith("/#", StringComparison.Ordinal) ? [subject[..^2], subject] : [subject];
    }

    /// <summary>
    /// The subject matching exactly what both <paramref name="a"/> and <paramref name="b"/> match, or null when
    /// they match nothing in common. Wildcards: <c>*</c> one token, <c>&gt;</c> one or more trailing tokens.
    /// </summary>
    public static string? Intersect(string a, string b)
    {
        var x = a.Split('.');
        var y = b.Split('.');
        var result = new List<string>(Math.Max(x.Length, y.Length));
        for (var i = 0; ; i++)
        {
            if (i == x.Length || i == y.Length) return x.Length == y.Length ? string.Join('.', result) : null;
            if (x[i] == ">") return string.Join('.', result.Concat(y[i..]));
            if (y[i] == ">") return string.Join('.', result.Concat(x[i..]));
            if (x[i] == "*") result.Add(y[i]);
            else if (y[i] == "*" || y[i] == x[i]) result.Add(x[i]);
            else return null;
        }
    }

    /// <summary>
    /// True if the concrete <paramref name="subject"/> is matched by any of <paramref name="patterns"/>.
    /// </summary>
    public static bool Covered(string subject, IReadOnlyList<string> patterns)
    {
        for (var i = 0; i < patterns.Count; i++)
            if (Matches(patterns[i], subject)) return true;
        return false;
    }

    /// <summary>
    /// True if the NATS <paramref name="pattern"/> matches the concrete <paramref name="subject"/>; allocation-free
    /// (called per publish).
    /// </summary>
    public static bool Matches(string pattern, string subject)
    {
        var p = pattern.AsSpan();
        var s = subject.AsSpan();
        while (true)
        {
            var pDot = p.IndexOf('.');
            var pToken = pDot < 0 ? p : p[..pDot];
            if (pToken is ">") return !s.IsEmpty;
            var sDot = s.IndexOf('.');
            var sToken = sDot < 0 ? s : s[..sDot];
            if (pToken is not "*" && !pToken.SequenceEqual(sToken)) return false;
            if (pDot < 0 || sDot < 0) return pDot < 0 && sDot < 0;
            p = p[(pDot + 1)..];
            s = s[(sDot + 1)..];
        }
    }
}
