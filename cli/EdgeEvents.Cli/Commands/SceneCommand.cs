using System.CommandLine;
using System.Globalization;
using EdgeEvents.Scene;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events scene</c>: the scene worker. Every option maps to a key of the <c>Scene</c> section.</summary>
public static class SceneCommand
{
    public static Command Create()
    {
        var cameras = new Option<string[]>("--cameras")
        {
            Description = "Track only these cameras [default: every camera on {prefix}/detections/+]",
            AllowMultipleArgumentsPerToken = true,
        };
        var partition = new Option<string>("--partition")
        {
            Description = "i/n: track the cameras whose stable hash falls in partition i of n, so n workers split the cameras [default: 0/1]",
        };
        var confirmHits = new Option<int>("--confirm-hits") { Description = "Consecutive matched frames before a track is announced [default: 3]" };
        var lostAfter = Duration("--lost-after", "A track unseen this long ends, e.g. 3s or 1500ms [default: 3s]");
        var stationaryAfter = Duration("--stationary-after", "An object still this long is stationary [default: 5s]");
        var publishInterval = Duration("--publish-interval", "Least time between two retained scene publishes per camera [default: 500ms]");
        return HostedCommand.Create("scene", "Track detected objects; publish lifecycle events and the retained scene of each camera.",
            [
                new(cameras, "Scene:Cameras"),
                new(partition, "Scene:Partition"),
                new(confirmHits, "Scene:ConfirmHits"),
                new(lostAfter, "Scene:LostAfter"),
                new(stationaryAfter, "Scene:StationaryAfter"),
                new(publishInterval, "Scene:PublishInterval"),
            ],
            builder => builder.Services.AddSceneWorker(builder.Configuration));
    }

    /// <summary>A duration option taking <c>500ms</c>, <c>3s</c>, <c>2m</c> or <c>hh:mm:ss</c>; a bare number is refused (is it seconds or days?).</summary>
    private static Option<TimeSpan> Duration(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (TryParseDuration(text, out var value)) return value;
            result.AddError($"{name}: '{text}' is not a duration; use e.g. 500ms, 3s, 2m or 00:00:03.");
            return default;
        },
    };

    private static bool TryParseDuration(string text, out TimeSpan value)
    {
        (string Suffix, Func<double, TimeSpan> Make)[] units = [("ms", TimeSpan.FromMilliseconds), ("s", TimeSpan.FromSeconds), ("m", TimeSpan.FromMinutes)];
        foreach (var (suffix, make) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
                && double.IsFinite(amount) && amount >= 0)
            {
                value = make(amount);
                return true;
            }
        }
        return TimeSpan.TryParseExact(text, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out value)
            || TimeSpan.TryParseExact(text, @"hh\:mm\:ss\.FFFFFFF", CultureInfo.InvariantCulture, out value);
    }
}
