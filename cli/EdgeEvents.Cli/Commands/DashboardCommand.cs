using System.CommandLine;
using EdgeEvents.Cli.Dashboard;
using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events dashboard</c>: serves the live page that browsers point at any broker with MQTT over WebSockets, or
/// (<c>--relay-port</c>) relays a hub without them, such as NATS, to the page.
/// </summary>
public static class DashboardCommand
{
    /// <summary>Component name of the relay's hub connection (client id, status topic).</summary>
    public const string Component = "dashboard";

    public static Command Create()
    {
        var defaults = new DashboardOptions();
        var httpPort = new Option<int>("--http-port")
        {
            Description = "HTTP port of the page; 0 picks a free one and prints it" + HelpDefault.Of(defaults.HttpPort),
        };
        var bind = new Option<string>("--bind")
        {
            Description = "Address to serve the page on" + HelpDefault.Of(defaults.BindAddress),
        };
        var broker = new Option<string>("--broker-ws")
        {
            Description = "Broker's MQTT-over-WebSockets URL, as the browser reaches it" +
                HelpDefault.Of(defaults.BrokerWebSocket),
        };
        var relayPort = new Option<int>("--relay-port")
        {
            Description = "Relay the broker of --broker (NATS, or MQTT without WebSockets) to the page over " +
                "WebSockets on this port; 0 picks a free one [default: off]",
        };
        var fleet = new Option<bool>("--fleet")
        {
            Description = "Pointed at a hub: show every site (sites/{site}/...), their states and cameras, " +
                "and ask a chosen site" + HelpDefault.Of(defaults.Fleet),
        };
        ConfigOption[] options =
        [
            new(fleet, "Dashboard:Fleet"),
            new(httpPort, "Dashboard:HttpPort"), new(bind, "Dashboard:BindAddress"),
            new(broker, "Dashboard:BrokerWebSocket"),
            new(relayPort, "Dashboard:RelayPort"), new(HostedCommand.Broker, "Transport:Broker"),
            new(HostedCommand.Prefix, "Dashboard:Prefix"),
        ];
        var command = new Command("dashboard", "Serve the live dashboard page: per camera the annotated snapshot, " +
            "objects present and events, and a box to ask questions.");
        HostedCommand.AddOptions(command, options);
        command.Options.Add(HostedCommand.ConfigFile);
        command.SetAction(async (parse, ct) =>
        {
            var settings = new DashboardOptions();
            var configuration = HostedCommand.CreateBuilder(parse, options).Configuration;
            configuration.GetSection(DashboardOptions.Section)
                .Bind(settings, o => o.ErrorOnUnknownConfiguration = true);
            using var loggers = CliLogging.Create(LogLevel.Information);
            var logger = loggers.CreateLogger("EdgeEvents.dashboard");
            await using var relay = settings.RelayPort is null ? null
                : await HubRelay.StartAsync(
                    TransportFactory.Create(HostedCommand.TransportFrom(configuration, Component), Component, loggers),
                    settings, logger, ct);
            var served = relay is null ? settings : settings with { RelayPort = relay.Port };
            await using var server = await DashboardServer.StartAsync(served, logger, ct);
            Console.Out.WriteLine(server.Url);
            await Console.Out.FlushAsync(ct);
            try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
