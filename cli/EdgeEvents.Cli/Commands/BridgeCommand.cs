using System.CommandLine;
using EdgeEvents.Bridge;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events bridge</c>: the built-in site-to-hub bridge (<c>--broker</c> is the site's broker).
/// </summary>
public static class BridgeCommand
{
    public static Command Create()
    {
        var defaults = new BridgeOptions();
        var site = new Option<string>("--site")
        {
            Description = "This site's name at the hub: lower-case letters, digits and '-' [required]",
        };
        var hub = new Option<string>("--hub")
        {
            Description = "Hub broker URL: mqtt://, mqtts://, nats:// or tls://host:port [required]",
        };
        var hubUsername = new Option<string>("--hub-username") { Description = "User name at the hub [default: none]" };
        var hubPasswordFile = new Option<FileInfo>("--hub-password-file")
        {
            Description = "File holding the password at the hub [default: none]",
        };
        var hubCaFile = new Option<FileInfo>("--hub-ca-file")
        {
            Description = "PEM file of the CA that signs the hub's certificate [default: the system's trust store]",
        };
        var hubClientId = new Option<string>("--hub-client-id")
        {
            Description = "Client id at the hub [default: bridge-{site}]",
        };
        var outbox = new Option<FileInfo>("--outbox")
        {
            Description = "SQLite file holding what waits for the hub [default: bridge-{site}.outbox.db]",
        };
        var snapshotInterval = DurationOption.Create("--snapshot-interval",
            "Least time between two snapshots of a camera sent to the hub; 0 sends every one" +
            HelpDefault.Of(defaults.SnapshotInterval));
        var snapshots = new Option<bool>("--snapshots")
        {
            Description = "Forward snapshots" + HelpDefault.Of(defaults.Snapshots),
        };
        var frames = new Option<bool>("--frames")
        {
            Description = "Forward camera frames, at most once" + HelpDefault.Of(defaults.Frames),
        };
        var detections = new Option<bool>("--detections")
        {
            Description = "Forward detections, at most once" + HelpDefault.Of(defaults.Detections),
        };
        return HostedCommand.Create("bridge",
            "Bridge this site's broker to a hub: its topics appear there under sites/{site}/, " +
            "questions to the site come back down.",
            [
                new(site, "Bridge:Site"), new(hub, "Bridge:Hub:Broker"), new(hubUsername, "Bridge:Hub:Username"),
                new(hubPasswordFile, "Bridge:Hub:PasswordFile"),
                new(hubCaFile, "Bridge:Hub:CaFile"), new(hubClientId, "Bridge:Hub:ClientId"),
                new(outbox, "Bridge:Hub:Outbox:Path"),
                new(snapshotInterval, "Bridge:SnapshotInterval"), new(snapshots, "Bridge:Snapshots"),
                new(frames, "Bridge:Frames"), new(detections, "Bridge:Detections"),
            ],
            builder => builder.Services.AddBridge(builder.Configuration));
    }
}
