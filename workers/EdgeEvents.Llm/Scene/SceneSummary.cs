using System.Globalization;
using System.Text;
using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Llm.Scene;

/// <summary>The scene text chosen for a prompt.</summary>
/// <param name="Text">The summary.</param>
/// <param name="Tokens">The caller's measure of it (the whole prompt holding it).</param>
/// <param name="Cuts">Pieces of detail left out to fit; 0 when the whole scene fits.</param>
internal sealed record SceneSummaryFit(string Text, int Tokens, int Cuts);

/// <summary>
/// The compact, structured text of the scene that goes into the prompt: per camera the counts, up to N objects and
/// the recent events, with times. Small models get a short, regular layout; large ones read it just as well.
/// <para>
/// A busy scene can outgrow the model's context, so the summary is fitted to a token budget: detail is left out in a
/// fixed order, and the text says what was left out. Order: first from the cameras the question does not name, then
/// from those it names: the oldest events, then listed objects (from the camera listing the most), then, for cameras
/// not named, whole cameras (last first). The counts of a named camera always stay: they are the minimal summary.
/// </para>
/// </summary>
internal static class SceneSummary
{
    /// <summary>
    /// The fullest summary whose measure <paramref name="tokens"/> is within <paramref name="budget"/>, or the minimal
    /// summary (with its measure, over budget) when even that does not fit.
    /// </summary>
    /// <param name="named">
    /// Cameras the question is about: they keep their detail longest and their counts always.
    /// </param>
    public static SceneSummaryFit Fit(IReadOnlyList<CameraSnapshot> cameras, DateTimeOffset now, int maxObjects,
        string? scope, IReadOnlyCollection<string> named, Func<string, int> tokens, int budget)
    {
        var full = Detail.Full(cameras, maxObjects);
        var cuts = Cuts(cameras, full, named);
        SceneSummaryFit Measure(int count)
        {
            var text = Render(cameras, now, scope, full.After(cuts, count));
            return new SceneSummaryFit(text, tokens(text), count);
        }

        var whole = Measure(0);
        if (whole.Tokens <= budget || cuts.Count == 0) return whole;
        var best = Measure(cuts.Count);
        if (best.Tokens > budget) return best;
        // Fewest cuts that fit: each cut only removes text, so the measure falls as cuts grow; only measured fits are
        // kept.
        var (tooFew, enough) = (0, cuts.Count);
        while (enough - tooFew > 1)
        {
            var attempt = Measure(tooFew + (enough - tooFew) / 2);
            if (attempt.Tokens <= budget) (enough, best) = (attempt.Cuts, attempt);
            else tooFew = attempt.Cuts;
        }
        return best;
    }

    private enum Part { Event, Object, Camera }

    private readonly record struct Cut(int Camera, Part Part);

    /// <summary>
    /// How much of each camera is listed: objects, newest events, and whether the camera appears at all.
    /// </summary>
    private sealed record Detail(int[] Objects, int[] Events, bool[] Listed)
    {
        public static Detail Full(IReadOnlyList<CameraSnapshot> cameras, int maxObjects) => new(
            cameras.Select(c => Math.Min(maxObjects, ObjectsOf(c).Count)).ToArray(),
            cameras.Select(c => c.Events.Count).ToArray(),
            cameras.Select(_ => true).ToArray());

        public Detail After(IReadOnlyList<Cut> cuts, int count)
        {
            var detail = new Detail((int[])Objects.Clone(), (int[])Events.Clone(), (bool[])Listed.Clone());
            foreach (var cut in cuts.Take(count))
            {
                switch (cut.Part)
                {
                    case Part.Event: detail.Events[cut.Camera]--; break;
                    case Part.Object: detail.Objects[cut.Camera]--; break;
                    case Part.Camera: detail.Listed[cut.Camera] = false; break;
                }
            }
            return detail;
        }
    }

    /// <summary>Every piece of detail, in the order it is left out (see the class summary).</summary>
    private static List<Cut> Cuts(IReadOnlyList<CameraSnapshot> cameras, Detail full, IReadOnlyCollection<string> named)
    {
        var all = Enumerable.Range(0, cameras.Count).ToList();
        var others = all.Where(i => !named.Contains(cameras[i].Camera)).ToList();
        var mentioned = all.Where(i => named.Contains(cameras[i].Camera)).ToList();
        var cuts = new List<Cut>();
        foreach (var (group, dropCameras) in new[] { (others, true), (mentioned, false) })
        {
            var events = (int[])full.Events.Clone();
            // Events are kept newest first, so the last one kept is a camera's oldest.
            cuts.AddRange(Drain(group, events, Part.Event, (a, b) =>
                cameras[a].Events[events[a] - 1].CreatedAt.CompareTo(cameras[b].Events[events[b] - 1].CreatedAt)));
            var objects = (int[])full.Objects.Clone();
            cuts.AddRange(Drain(group, objects, Part.Object, (a, b) => objects[b].CompareTo(objects[a])));
            if (dropCameras) cuts.AddRange(Enumerable.Reverse(group).Select(i => new Cut(i, Part.Camera)));
        }
        return cuts;
    }

    /// <summary>
    /// Cuts one piece at a time from the camera that <paramref name="first"/> puts first (ties: camera order) until
    /// none is left.
    /// </summary>
    private static List<Cut> Drain(List<int> group, int[] left, Part part, Comparison<int> first)
    {
        var cuts = new List<Cut>();
        while (group.Where(i => left[i] > 0).ToList() is { Count: > 0 } candidates)
        {
            var pick = candidates.Aggregate((chosen, next) => first(next, chosen) < 0 ? next : chosen);
            left[pick]--;
            cuts.Add(new Cut(pick, part));
        }
        return cuts;
    }

    private static string Render(
        IReadOnlyList<CameraSnapshot> cameras, DateTimeOffset now, string? scope, Detail detail)
    {
        var text = new StringBuilder();
        text.Append("Time now: ").Append(Time(now)).Append('\n');
        if (cameras.Count == 0)
        {
            text.Append(scope is null ? "No camera has reported yet.\n" : $"Camera {scope} has not reported.\n");
            return text.ToString();
        }
        for (var i = 0; i < cameras.Count; i++)
        {
            if (!detail.Listed[i]) continue;
            var camera = cameras[i];
            var counts = camera.Counts.Where(c => c.Value > 0)
                .OrderByDescending(c => c.Value)
                .ThenBy(c => c.Key, StringComparer.Ordinal)
                .ToList();
            text.Append("Camera ").Append(camera.Camera).Append(" at ").Append(Time(camera.At)).Append(": ");
            text.Append(counts.Count == 0
                ? "nothing detected"
                : string.Join(", ", counts.Select(c => Labels.CountOf(c.Value, c.Key))));
            text.Append(".\n");
            foreach (var o in ObjectsOf(camera).Take(detail.Objects[i])) AppendObject(text, o);
            if (detail.Events[i] > 0)
            {
                text.Append("Recent events on ").Append(camera.Camera).Append(":\n");
                foreach (var e in camera.Events.Take(detail.Events[i])) AppendEvent(text, e);
            }
        }
        AppendLeftOut(text, cameras, detail);
        return text.ToString();
    }

    /// <summary>
    /// Tells the model the lists are partial, so it does not take a missing object for an absent one.
    /// </summary>
    private static void AppendLeftOut(StringBuilder text, IReadOnlyList<CameraSnapshot> cameras, Detail detail)
    {
        var objects = cameras.Select((c, i) => ObjectsOf(c).Count - detail.Objects[i]).Sum();
        var events = cameras.Select((c, i) => c.Events.Count - detail.Events[i]).Sum();
        var unlisted = detail.Listed.Count(listed => !listed);
        var parts = new[] { (objects, "object"), (events, "event"), (unlisted, "camera") }
            .Where(p => p.Item1 > 0).Select(p => Labels.CountOf(p.Item1, p.Item2)).ToList();
        if (parts.Count == 0) return;
        text.Append("List shortened: ").Append(string.Join(", ", parts))
            .Append(" not listed; the counts of the cameras listed are complete.\n");
    }

    private static IReadOnlyList<SceneObject> ObjectsOf(CameraSnapshot camera) => camera.State?.Objects ?? [];

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

    private static string Time(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
