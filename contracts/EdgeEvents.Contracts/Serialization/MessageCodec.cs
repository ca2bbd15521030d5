using System.Text.Json;
using System.Text.Json.Serialization;
using MessagePack;
using MessagePack.Resolvers;

namespace EdgeEvents.Contracts.Serialization;

/// <summary>Encodes and decodes contract messages as JSON (camelCase) or MessagePack (integer keys).</summary>
public static class MessageCodec
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    // Untrusted data: MessagePack's guarded mode caps collection sizes and recursion depth.
    private static readonly MessagePackSerializerOptions MsgPack = MessagePackSerializerOptions.Standard
        .WithResolver(StandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    public static byte[] Serialize<T>(T message, PayloadFormat format) => format switch
    {
        PayloadFormat.Json => JsonSerializer.SerializeToUtf8Bytes(message, Json),
        _ => MessagePackSerializer.Serialize(message, MsgPack),
    };

    /// <summary>
    /// Decodes a payload; the format comes from the content type, else is sniffed (JSON starts with '{').
    /// </summary>
    /// <exception cref="MessageFormatException">The payload is not a valid <typeparamref name="T"/>.</exception>
    public static T Deserialize<T>(ReadOnlyMemory<byte> payload, string? contentType = null) where T : class
    {
        if (payload.IsEmpty) throw new MessageFormatException($"Empty payload where a {typeof(T).Name} was expected.");
        var format = ContentTypes.ToFormat(contentType) ?? Sniff(payload.Span);
        T? value;
        try
        {
            value = format == PayloadFormat.Json
                ? JsonSerializer.Deserialize<T>(payload.Span, Json)
                : MessagePackSerializer.Deserialize<T>(payload, MsgPack);
        }
        catch (Exception ex) when (ex is JsonException or MessagePackSerializationException or InvalidOperationException
            or NotSupportedException or ArgumentException or OverflowException)
        {
            throw new MessageFormatException($"Malformed {format} {typeof(T).Name}: {Innermost(ex).Message}", ex);
        }
        return value ??
            throw new MessageFormatException($"Payload decoded to null where a {typeof(T).Name} was expected.");
    }

    public static PayloadFormat Sniff(ReadOnlySpan<byte> payload)
    {
        foreach (var b in payload)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            return b == (byte)'{' || b == (byte)'[' ? PayloadFormat.Json : PayloadFormat.MessagePack;
        }
        return PayloadFormat.MessagePack;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }
}
