using System.CommandLine;
using EdgeEvents.Scene;
using EdgeEvents.Scene.HomeAssistant;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events scene</c>: the scene worker. Every option maps to a key of the <c>Scene</c> section.
/// </summary>
public static class SceneCommand
{
    public static Command Create()
    {
        var defaults = SceneOptions.Default;
        var cameras = new Option<string[]>("--cameras")
        {
            Description = "Track only these cameras [default: every camera on {prefix}/detections/+]",
            AllowMultipleArgumentsPerToken = true,
        };
        var partition = new Option<string>("--partition")
        {
            Description = "i/n: track the cameras whose stable hash falls in partition i of n, " +
                "so n workers split the cameras" + HelpDefault.Of(defaults.Partition),
        };
        var confirmHits = new Option<int>("--confirm-hits")
        {
            Description = "Consecutive matched frames before a track is announced" +
                HelpDefault.Of(defaults.ConfirmHits),
        };
        var lostAfter = DurationOption.Create("--lost-after",
            "A track unseen this long ends, e.g. 3s or 1500ms" + HelpDefault.Of(defaults.LostAfter));
        var stationaryAfter = DurationOption.Create("--stationary-after",
            "An object still this long is stationary" + HelpDefault.Of(defaults.StationaryAfter));
        var publishInterval = DurationOption.Create("--publish-interval",
            "Least time between two retained scene publishes per camera" + HelpDefault.Of(defaults.PublishInterval));
        var homeAssistant = new Option<bool>("--home-assistant")
        {
            Description = "Publish Home Assistant MQTT discovery configs: each camera becomes a device" +
                HelpDefault.Of(new HomeAssistantOptions().Enabled),
        };
        return HostedCommand.Create("scene",
            "Track detected objects; publish lifecycle events and the retained scene of each camera.",
            [
                new(cameras, "Scene:Cameras"),
                new(partition, "Scene:Partition"),
                new(confirmHits, "Scene:ConfirmHits"),
                new(lostAfter, "Scene:LostAfter"),
                new(stationaryAfter, "Scene:StationaryAfter"),
                new(publishInterval, "Scene:PublishInterval"),
                new(homeAssistant, "HomeAssistant:Enabled"),
            ],
            builder => builder.Services.AddSceneWorker(builder.Configuration));
    }
}
