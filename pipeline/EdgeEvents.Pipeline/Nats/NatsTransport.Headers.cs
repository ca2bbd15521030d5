using System.Globalization;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using NATS.Client.Core;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>
    /// Turns a NATS message into a <see cref="ReceivedMessage"/>, or refuses it (too large, expired) with null.
    /// </summary>
    private ReceivedMessage? Accept(string subject, byte[]? data, NatsHeaders? headers, string? replyTo, bool retained)
    {
        var topic = NatsSubjects.ToTopic(subject);
        var payload = data ?? [];
        if (payload.Length > _options.MaxPayloadBytes)
        {
            Rejected?.Invoke(new RejectedMessage(topic, payload.Length, ErrorKinds.PayloadTooLarge,
                $"Payload of {payload.Length} bytes exceeds the limit of {_options.MaxPayloadBytes} bytes."));
            return null;
        }
        string? contentType = null, messageId = null, responseTopic = null, expires = null;
        var correlation = ReadOnlyMemory<byte>.Empty;
        Dictionary<string, string>? others = null;
        if (headers is not null)
        {
            foreach (var (name, values) in headers)
            {
                var value = values.ToString();
                if (Is(name, ContentTypeHeader)) contentType = value;
                else if (Is(name, MessageIdHeader)) messageId = value;
                else if (Is(name, ExpiresHeader)) expires = value;
                else if (Is(name, ReplyToHeader)) responseTopic = value;
                else if (Is(name, CorrelationHeader)) correlation = DecodeBase64(value);
                else (others ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase))[name] = value;
            }
        }
        if (expires is not null
            && DateTimeOffset.TryParse(
                expires, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresAt)
            && expiresAt <= DateTimeOffset.UtcNow)
        {
            Interlocked.Increment(ref _expired);
            EdgeTelemetry.TransportDropped(System, "expired");
            return null;
        }
        // Our publishes always carry a message id and their response topic as a header; a bare reply subject on
        // such a message is a JetStream publish's acknowledgement inbox, not an invitation to answer.
        if (responseTopic is null && messageId is null && replyTo is not null)
            responseTopic = NatsSubjects.ToTopic(replyTo);
        return new ReceivedMessage(topic, payload)
        {
            ContentType = contentType,
            Retained = retained,
            ResponseTopic = responseTopic,
            CorrelationData = correlation,
            MessageId = messageId,
            Headers = others ?? ReceivedMessage.EmptyHeaders,
        };
    }

    /// <summary>
    /// Malformed correlation data from a foreign publisher is dropped, not allowed to stop the subscription.
    /// </summary>
    private static byte[] DecodeBase64(string value)
    {
        var bytes = new byte[value.Length * 3 / 4];
        return Convert.TryFromBase64String(value, bytes, out var written) ? bytes[..written] : [];
    }

    private static bool Is(string name, string header) =>
        string.Equals(name, header, StringComparison.OrdinalIgnoreCase);
}
