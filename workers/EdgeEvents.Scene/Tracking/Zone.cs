using System.Globalization;
using System.Numerics;

namespace EdgeEvents.Scene.Tracking;

/// <summary>A named polygon in source-image pixels.</summary>
public sealed class Zone
{
    private readonly Vector2[] _points;

    public Zone(string name, IReadOnlyList<Vector2> points)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (points.Count < 3)
            throw new ArgumentException($"Zone '{name}' needs at least 3 points, got {points.Count}.", nameof(points));
        Name = name;
        _points = [.. points];
    }

    public string Name { get; }

    public IReadOnlyList<Vector2> Points => _points;

    /// <summary>Parses Frigate's form: <c>"x1,y1,x2,y2,x3,y3,…"</c>.</summary>
    /// <exception cref="FormatException">Not an even list of at least 6 finite numbers.</exception>
    public static Zone Parse(string name, string coordinates)
    {
        var parts = coordinates.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length < 6 || parts.Length % 2 != 0)
            throw new FormatException($"'{coordinates}' must be at least three x,y pairs: \"x1,y1,x2,y2,x3,y3\".");
        var points = new Vector2[parts.Length / 2];
        for (var i = 0; i < points.Length; i++)
        {
            if (!float.TryParse(parts[2 * i], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ||
                !float.IsFinite(x) ||
                !float.TryParse(parts[2 * i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var y) ||
                !float.IsFinite(y))
                throw new FormatException(
                    $"'{parts[2 * i]},{parts[2 * i + 1]}' in '{coordinates}' is not a pair of numbers.");
            points[i] = new Vector2(x, y);
        }
        return new Zone(name, points);
    }

    /// <summary>Even-odd ray casting: true if the point is inside the polygon.</summary>
    public bool Contains(float x, float y)
    {
        var inside = false;
        for (int i = 0, j = _points.Length - 1; i < _points.Length; j = i++)
        {
            var (a, b) = (_points[i], _points[j]);
            if ((a.Y > y) != (b.Y > y) && x < (b.X - a.X) * (y - a.Y) / (b.Y - a.Y) + a.X)
                inside = !inside;
        }
        return inside;
    }
}
