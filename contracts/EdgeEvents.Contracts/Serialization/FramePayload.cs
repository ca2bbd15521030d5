using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Contracts.Serialization;

/// <summary>
/// Reads what arrives on a frames topic: the MessagePack/JSON <see cref="Frame"/> envelope, or a bare JPEG/PNG.
/// </summary>
public static class FramePayload
{
    /// <summary>
    /// Parses a frame payload. A bare image gets the camera from the topic, the given sequence number and
    /// the receive time as capture time.
    /// </summary>
    /// <exception cref="MessageFormatException">
    /// Neither an image nor a valid envelope, or an envelope that contradicts itself.
    /// </exception>
    public static Frame Parse(ReadOnlyMemory<byte> payload, string camera, long sequenceForBareImage,
        DateTimeOffset receivedAt, string? contentType = null)
    {
        if (payload.IsEmpty) throw new MessageFormatException("Empty frame payload.");
        var bare = DetectImage(payload.Span);
        if (bare is { } encoding)
        {
            return new Frame
            {
                Camera = camera,
                Sequence = sequenceForBareImage,
                CapturedAt = receivedAt,
                Encoding = encoding,
                Data = WholeArrayOrCopy(payload),
            };
        }
        var frame = MessageCodec.Deserialize<Frame>(payload, contentType);
        Validate(frame);
        return frame;
    }

    /// <summary>
    /// The payload's own array when it covers all of it (transports hand over fresh arrays), else a copy.
    /// </summary>
    private static byte[] WholeArrayOrCopy(ReadOnlyMemory<byte> payload) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(payload, out var segment) &&
        segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : payload.ToArray();

    /// <summary>JPEG or PNG by magic bytes; null for anything else.</summary>
    public static FrameEncoding? DetectImage(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return FrameEncoding.Jpeg;
        if (data.Length >= 8 && data[..8].SequenceEqual(PngMagic)) return FrameEncoding.Png;
        return null;
    }

    public static void Validate(Frame frame)
    {
        if (string.IsNullOrEmpty(frame.Camera)) throw new MessageFormatException("Frame has no camera id.");
        if (frame.Data is null || frame.Data.Length == 0)
            throw new MessageFormatException($"Frame {frame.Sequence} of '{frame.Camera}' has no image data.");
        if (frame.Encoding is FrameEncoding.Rgb24 or FrameEncoding.Bgr24)
        {
            if (frame.Width <= 0 || frame.Height <= 0 || frame.Width > 16384 || frame.Height > 16384)
                throw new MessageFormatException(
                    $"Raw frame {frame.Sequence} of '{frame.Camera}' has invalid dimensions " +
                    $"{frame.Width}x{frame.Height}.");
            var expected = (long)frame.Width * frame.Height * 3;
            if (frame.Data.Length != expected)
                throw new MessageFormatException($"Raw {frame.Encoding} frame {frame.Sequence} of '{frame.Camera}' " +
                    $"is {frame.Data.Length} bytes; {frame.Width}x{frame.Height}x3 needs {expected}.");
        }
        else if (!Enum.IsDefined(frame.Encoding))
        {
            throw new MessageFormatException(
                $"Frame {frame.Sequence} of '{frame.Camera}' has unknown encoding {(int)frame.Encoding}.");
        }
    }

    private static ReadOnlySpan<byte> PngMagic => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
}
