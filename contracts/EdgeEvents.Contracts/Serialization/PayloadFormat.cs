namespace EdgeEvents.Contracts.Serialization;

public enum PayloadFormat { Json, MessagePack }

public static class ContentTypes
{
    public const string Json = "application/json";
    public const string MessagePack = "application/vnd.msgpack";
    public const string Jpeg = "image/jpeg";
    public const string Png = "image/png";
    public const string Text = "text/plain; charset=utf-8";

    public static string For(PayloadFormat format) => format == PayloadFormat.Json ? Json : MessagePack;

    /// <summary>Maps a content type to a format; null when it names neither.</summary>
    public static PayloadFormat? ToFormat(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return null;
        var media = contentType.Split(';')[0].Trim();
        return media switch
        {
            "application/json" or "text/json" => PayloadFormat.Json,
            "application/vnd.msgpack" or "application/msgpack" or "application/x-msgpack" => PayloadFormat.MessagePack,
            _ => null,
        };
    }
}
