using System.Text.Json.Serialization;
using MessagePack;

namespace EdgeEvents.Contracts.Messages;

/// <summary>An axis-aligned box in source-image pixels: (X1, Y1) top-left, (X2, Y2) bottom-right.</summary>
[MessagePackObject]
public readonly record struct Box(
    [property: Key(0)] float X1,
    [property: Key(1)] float Y1,
    [property: Key(2)] float X2,
    [property: Key(3)] float Y2)
{
    [IgnoreMember, JsonIgnore] public float Width => X2 - X1;
    [IgnoreMember, JsonIgnore] public float Height => Y2 - Y1;
    [IgnoreMember, JsonIgnore] public float Area => Math.Max(0, Width) * Math.Max(0, Height);
    [IgnoreMember, JsonIgnore] public float CenterX => (X1 + X2) / 2;
    [IgnoreMember, JsonIgnore] public float CenterY => (Y1 + Y2) / 2;

    /// <summary>Intersection over union; 0 when either box is empty.</summary>
    public float IoU(Box other)
    {
        var iw = Math.Min(X2, other.X2) - Math.Max(X1, other.X1);
        var ih = Math.Min(Y2, other.Y2) - Math.Max(Y1, other.Y1);
        if (iw <= 0 || ih <= 0) return 0;
        var inter = iw * ih;
        var union = Area + other.Area - inter;
        return union <= 0 ? 0 : inter / union;
    }
}
