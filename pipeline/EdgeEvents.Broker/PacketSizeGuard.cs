namespace EdgeEvents.Broker;

/// <summary>
/// Follows the MQTT framing of one connection's incoming bytes (fixed header, remaining length, body) and says no as
/// soon as a packet's fixed header announces more than the limit: the refusal comes before the body is read, so an
/// oversize PUBLISH (or CONNECT) never occupies the broker's memory. A malformed remaining length is refused too.
/// </summary>
internal sealed class PacketSizeGuard(int maxPacketBytes)
{
    private enum Part { FixedHeader, RemainingLength, Body }

    private Part _part;
    private long _remaining;
    private int _lengthBytes;
    private long _bodyLeft;

    /// <summary>Size of the refused packet (fixed header included), once <see cref="Accept"/> has said no.</summary>
    public long RefusedSize { get; private set; }

    /// <summary>
    /// Takes the next bytes read; false when they announce a packet over the limit (or a malformed length).
    /// </summary>
    public bool Accept(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            switch (_part)
            {
                case Part.FixedHeader:
                    i++;
                    (_part, _remaining, _lengthBytes) = (Part.RemainingLength, 0, 0);
                    break;
                case Part.RemainingLength:
                    var b = bytes[i++];
                    _remaining |= (long)(b & 0x7F) << (7 * _lengthBytes++);
                    if ((b & 0x80) != 0)
                    {
                        if (_lengthBytes < 4) break;
                        RefusedSize = long.MaxValue;
                        return false;
                    }
                    var size = 1 + _lengthBytes + _remaining;
                    if (size > maxPacketBytes)
                    {
                        RefusedSize = size;
                        return false;
                    }
                    _bodyLeft = _remaining;
                    _part = _bodyLeft == 0 ? Part.FixedHeader : Part.Body;
                    break;
                case Part.Body:
                    var take = (int)Math.Min(_bodyLeft, bytes.Length - i);
                    i += take;
                    _bodyLeft -= take;
                    if (_bodyLeft == 0) _part = Part.FixedHeader;
                    break;
            }
        }
        return true;
    }
}
