using System.ComponentModel.DataAnnotations;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Bridge;

/// <summary>
/// Built-in bridge settings. Bound from configuration section <c>Bridge</c>; the local side is the usual
/// <c>Transport</c> section.
/// </summary>
public sealed record BridgeOptions : IValidatableObject
{
    public const string Section = "Bridge";

    /// <summary>
    /// The site's name at the hub (<c>sites/{Site}/...</c>): lower-case letters, digits and <c>-</c>. Required.
    /// </summary>
    public string Site { get; init; } = "";

    /// <summary>
    /// The hub connection (section <c>Bridge:Hub</c>): <c>Broker</c> (required; <c>mqtt://</c>, <c>mqtts://</c>,
    /// <c>nats://</c>, <c>tls://</c>), <c>Username</c>, <c>PasswordFile</c>, <c>CaFile</c>, keepalive and reconnect
    /// timings, and the outbox. Defaults as <see cref="TransportOptions"/>, except: client id <c>bridge-{site}</c>;
    /// outbox file <c>bridge-{site}.outbox.db</c> in the working directory; on NATS, JetStream streams
    /// <c>sites-{site}</c> and <c>sites-{site}-retained</c> (which also keeps <c>sites.{site}.link</c>).
    /// </summary>
    public TransportOptions Hub { get; init; } = new() { Broker = "" };

    /// <summary>Forward snapshots (<c>{prefix}/snapshots/+</c>). Default true.</summary>
    public bool Snapshots { get; init; } = true;

    /// <summary>
    /// Least time between two snapshots of one camera sent to the hub; 0 forwards every one. Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Forward camera frames (at most once: dropped while the hub is unreachable). Default false: frames stay at the
    /// site.
    /// </summary>
    public bool Frames { get; init; }

    /// <summary>Forward detections (at most once). Default false.</summary>
    public bool Detections { get; init; }

    /// <summary>
    /// The hub transport settings for a site whose local topic prefix is <paramref name="localPrefix"/>.
    /// </summary>
    public TransportOptions HubTransport(string localPrefix)
    {
        var sitePrefix = new FleetTopics(localPrefix).ForSite(Site).Prefix;
        var link = FleetTopics.Link(Site);
        var subject = TopicScheme.ToNatsSubject(sitePrefix);
        return Hub with
        {
            Prefix = sitePrefix,
            ClientId = Hub.ClientId ?? $"bridge-{Site}",
            Presence = new Presence(link, LinkPayloads.Up, LinkPayloads.Down),
            Outbox = Hub.Outbox with { Path = Hub.Outbox.Path ?? $"bridge-{Site}.outbox.db" },
            // One pair of streams per site: several bridges into one hub must not redefine each other's.
            Nats = Hub.Nats.JetStream is { } js
                ? Hub.Nats with
                {
                    JetStream = js with
                    {
                        Stream = $"sites-{Site}",
                        RetainedStream = $"sites-{Site}-retained",
                        RetainedSubjects =
                            [.. NatsJetStreamOptions.DefaultRetainedSubjects(subject), TopicScheme.ToNatsSubject(link)],
                    },
                }
                : Hub.Nats,
        };
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!SiteName.IsValid(Site))
            yield return new ValidationResult(
                $"Bridge:Site '{Site}' is not a valid site name: " +
                "use lower-case letters, digits and '-' (not first), e.g. 'plant-a'.",
                [nameof(Site)]);
        string? hubProblem = null;
        if (string.IsNullOrWhiteSpace(Hub.Broker))
            hubProblem = "Bridge:Hub:Broker (--hub) is required, e.g. mqtts://hub.example.com:8883 or nats://hub:4222.";
        else
        {
            try { BrokerAddress.Parse(Hub.Broker); }
            catch (FormatException ex) { hubProblem = $"Bridge:Hub:Broker: {ex.Message}"; }
        }
        if (hubProblem is not null) yield return new ValidationResult(hubProblem, [nameof(Hub)]);
    }
}
