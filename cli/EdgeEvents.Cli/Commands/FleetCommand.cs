using System.CommandLine;
using EdgeEvents.Fleet;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events fleet</c>: the hub component keeping <c>fleet/sites/{site}</c> and <c>fleet/summary</c>.
/// </summary>
public static class FleetCommand
{
    public static Command Create()
    {
        var defaults = new FleetOptions();
        return HostedCommand.Create("fleet",
            "At the hub: keep a retained status per site (fleet/sites/{site}) and a fleet summary (fleet/summary).",
            [
                new(DurationOption.Create("--site-timeout",
                    "A site silent this long is offline" + HelpDefault.Of(defaults.SiteTimeout)), "Fleet:SiteTimeout"),
                new(new Option<string[]>("--sites")
                {
                    Description = "Sites expected at the hub, listed as offline until heard [default: none]",
                    AllowMultipleArgumentsPerToken = true,
                }, "Fleet:Sites"),
            ],
            builder => builder.Services.AddFleetWorker(builder.Configuration));
    }
}
