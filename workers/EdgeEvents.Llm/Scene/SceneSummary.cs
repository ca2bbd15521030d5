using System.Globalization;
using System.Text;
using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Llm.Scene;

/// <summary>
/// The compact, structured text of the scene that goes into the prompt: per camera the counts, up to N objects and
/// the recent events, with times. Small models get a short, regular layout; large ones read it just as well.
/// </summary>
internal static class SceneSummary
{
    public static string Render(IReadOnlyList<CameraSnapshot> cameras, DateTimeOffset now, int maxObjects, string? scope)
    {
        var text = new StringBuilder();
        text.Append("Time now: ").Append(Time(now)).Append('\n');
        if (cameras.Count == 0)
        {
            text.Append(scope is null ? "No camera has reported yet.\n" : $"Camera {scope} has not reported.\n");
            return text.ToString();
        }
        foreach (var camera in cameras)
        {
            var counts = camera.Counts.Where(c => c.Value > 0).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).ToList();
            text.Append("Camera ").Append(camera.Camera).Append(" at ").Append(Time(camera.At)).Append(": ");
            text.Append(counts.Count == 0 ? "nothing detected" : string.Join(", ", counts.Select(c => Labels.CountOf(c.Value, c.Key))));
            text.Append(".\n");
            foreach (var o in (camera.State?.Objects ?? []).Take(maxObjects)) AppendObject(text, o);
            if (camera.Events.Count > 0)
            {
                text.Append("Recent events on ").Append(camera.Camera).Append(":\n");
                foreach (var e in camera.Events) AppendEvent(text, e);
            }
        }
        return text.ToString();
    }

    private static void AppendObject(StringBuilder text, SceneObject o)
    {
        text.Append("- ").Append(o.Label).Append(' ').Append(o.TrackId)
            .Append(", confidence ").Append(o.Confidence.ToString("0.00", CultureInfo.InvariantCulture))
            .Append(", seen since ").Append(Time(o.FirstSeen));
        if (o.Stationary) text.Append(", stationary");
        if (o.CurrentZones.Count > 0) text.Append(", in ").Append(string.Join(" and ", o.CurrentZones));
        text.Append('\n');
    }

    private static void AppendEvent(StringBuilder text, SceneEvent e)
    {
        text.Append("- ").Append(Time(e.CreatedAt)).Append(' ').Append(e.Type);
        if (e.Label is not null) text.Append(' ').Append(e.Label);
        if (e.TrackId is not null) text.Append(' ').Append(e.TrackId);
        if (e.Changes.Count > 0) text.Append(" (").Append(string.Join(", ", e.Changes)).Append(')');
        if (e.Zones.Count > 0) text.Append(" in ").Append(string.Join(" and ", e.Zones));
        text.Append('\n');
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
