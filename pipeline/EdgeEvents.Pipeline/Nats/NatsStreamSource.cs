using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

/// <summary>
/// A JetStream stream that <see cref="NatsJetStreamOptions.Stream"/> sources (copies into itself, resuming where it
/// stopped after the link to it was down). A fleet site uses it to receive its questions from the hub
/// (README "Fleet").
/// </summary>
public sealed record NatsStreamSource
{
    /// <summary>Name of the stream sourced. Required.</summary>
    public string Stream { get; init; } = "";

    /// <summary>
    /// JetStream domain of the stream (<c>hub</c>: through <c>$JS.hub.API</c>). Default null: this server's own.
    /// </summary>
    public string? Domain { get; init; }

    internal StreamSource ToStreamSource()
    {
        if (string.IsNullOrWhiteSpace(Stream))
            throw new ArgumentException("Transport:Nats:JetStream:Sources: every source needs a Stream name.");
        return new StreamSource
        {
            Name = Stream,
            External = Domain is { Length: > 0 } domain ? new ExternalStreamSource { Api = $"$JS.{domain}.API" } : null,
        };
    }
}
