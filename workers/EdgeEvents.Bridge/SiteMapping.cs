using System.Buffers.Text;
using System.Text;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Bridge;

/// <summary>
/// How one site's messages cross the link: a local topic <c>{prefix}/...</c> is <c>sites/{site}/{prefix}/...</c> at
/// the hub and back. Ids, retain flags, content types, correlation data and headers cross unchanged, so the hub
/// de-duplicates replays by id.
/// <para>
/// Response topics are translated both ways. One under the site's own hub namespace is mapped like any topic. Any other
/// (an MQTT 5 asker's own topic, a NATS reply inbox) becomes a reply level under the asker's answers,
/// <c>{prefix}/answers/{asker}/~{base64url(hub topic)}</c>, which the LLM worker accepts as a reply topic; its answer
/// there is sent to the original hub topic (partial text on <c>…/partial</c> likewise). The hub topic travels inside
/// the local topic, so a bridge restarted between question and answer still routes it.
/// </para>
/// </summary>
public sealed class SiteMapping
{
    private const char ReplyMarker = '~';

    private readonly string _hubRoot;

    public SiteMapping(string site, TopicScheme local)
    {
        Local = local;
        Site = SiteName.Validate(site);
        _hubRoot = FleetTopics.SiteRoot(site) + "/";
        Hub = new FleetTopics(local.Prefix).ForSite(site);
    }

    public string Site { get; }
    /// <summary>The site's topics as workers see them (<c>edge/...</c>).</summary>
    public TopicScheme Local { get; }
    /// <summary>The site's topics at the hub (<c>sites/{site}/edge/...</c>).</summary>
    public TopicScheme Hub { get; }

    /// <summary>
    /// A local message as it is published at the hub; <paramref name="delivery"/> by what the topic carries.
    /// </summary>
    public OutgoingMessage Up(ReceivedMessage message, Delivery delivery) =>
        new(HubTopicFor(message.Topic), message.Payload)
        {
            ContentType = message.ContentType,
            Delivery = delivery,
            Retain = message.Retained,
            CorrelationData = message.CorrelationData,
            MessageId = message.MessageId,
            Headers = message.Headers.Count > 0 ? message.Headers : null,
        };

    /// <summary>A hub message for this site (question, control) as it is published locally.</summary>
    public OutgoingMessage Down(ReceivedMessage message) =>
        new(LocalTopicFor(message.Topic), message.Payload)
        {
            ContentType = message.ContentType,
            Delivery = Delivery.AtLeastOnce,
            Retain = message.Retained,
            ResponseTopic = message.ResponseTopic is { } response ? LocalResponseTopic(message.Topic, response) : null,
            CorrelationData = message.CorrelationData,
            MessageId = message.MessageId,
            Headers = message.Headers.Count > 0 ? message.Headers : null,
        };

    /// <summary>
    /// Where a local topic goes at the hub: its place under <c>sites/{site}/</c>, or the hub topic a reply level
    /// carries.
    /// </summary>
    public string HubTopicFor(string localTopic) =>
        ReplyTarget(localTopic) ?? FleetTopics.ToHub(Site, localTopic);

    /// <summary>The local topic of a hub topic under <c>sites/{site}/</c>.</summary>
    public string LocalTopicFor(string hubTopic) =>
        hubTopic.StartsWith(_hubRoot, StringComparison.Ordinal)
            ? hubTopic[_hubRoot.Length..]
            : throw new ArgumentException($"'{hubTopic}' is not under '{_hubRoot}'.", nameof(hubTopic));

    private string LocalResponseTopic(string hubQuestionTopic, string hubResponseTopic)
    {
        if (hubResponseTopic.StartsWith(_hubRoot, StringComparison.Ordinal)) return hubResponseTopic[_hubRoot.Length..];
        var (_, asker) = Local.Parse(LocalTopicFor(hubQuestionTopic));
        var answers = asker is not null && TopicScheme.IsValidName(asker) ? Local.Answers(asker) : Local.Answers();
        return $"{answers}/{ReplyMarker}{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(hubResponseTopic))}";
    }

    /// <summary>
    /// For <c>{prefix}/answers/[{asker}/]~{encoded}[/rest]</c>: the encoded hub topic plus <c>/rest</c>; otherwise
    /// null.
    /// </summary>
    private string? ReplyTarget(string localTopic)
    {
        var answers = Local.Answers() + "/";
        if (!localTopic.StartsWith(answers, StringComparison.Ordinal)) return null;
        var levels = localTopic[answers.Length..].Split('/');
        var at = levels.Length > 0 && levels[0].StartsWith(ReplyMarker) ? 0
            : levels.Length > 1 && levels[1].StartsWith(ReplyMarker) ? 1
            : -1;
        if (at < 0) return null;
        var encoded = levels[at][1..];
        var bytes = new byte[Base64Url.GetMaxDecodedLength(encoded.Length)];
        var status = Base64Url.DecodeFromChars(encoded, bytes, out var consumed, out var written);
        if (status != System.Buffers.OperationStatus.Done || consumed != encoded.Length)
            return null;
        var target = Encoding.UTF8.GetString(bytes, 0, written);
        var rest = string.Join('/', levels[(at + 1)..]);
        return rest.Length > 0 ? $"{target}/{rest}" : target;
    }
}
