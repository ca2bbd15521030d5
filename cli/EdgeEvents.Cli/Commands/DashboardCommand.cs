using System.CommandLine;
using EdgeEvents.Cli.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events dashboard</c>: serves the live page that browsers point at any broker with MQTT over WebSockets.</summary>
public static class DashboardCommand
{
    public static Command Create()
    {
        var defaults = new DashboardOptions();
        var httpPort = new Option<int>("--http-port") { Description = "HTTP port of the page; 0 picks a free one and prints it" + HelpDefault.Of(defaults.HttpPort) };
        var bind = new Option<string>("--bind") { Description = "Address to serve the page on" + HelpDefault.Of(defaults.BindAddress) };
        var broker = new Option<string>("--broker-ws") { Description = "Broker's MQTT-over-WebSockets URL, as the browser reaches it" + HelpDefault.Of(defaults.BrokerWebSocket) };
        var fleet = new Option<bool>("--fleet") { Description = "Pointed at a hub: show every site (sites/{site}/...), their states and cameras, and ask a chosen site" + HelpDefault.Of(defaults.Fleet) };
        ConfigOption[] options =
        [
            new(fleet, "Dashboard:Fleet"),
            new(httpPort, "Dashboard:HttpPort"), new(bind, "Dashboard:BindAddress"), new(broker, "Dashboard:BrokerWebSocket"),
            new(HostedCommand.Prefix, "Dashboard:Prefix"),
        ];
        var command = new Command("dashboard", "Serve the live dashboard page: per camera the annotated snapshot, objects present and events, and a box to ask questions.");
        HostedCommand.AddOptions(command, options);
        command.Options.Add(HostedCommand.ConfigFile);
        command.SetAction(async (parse, ct) =>
        {
            var settings = new DashboardOptions();
            HostedCommand.CreateBuilder(parse, options).Configuration.GetSection(DashboardOptions.Section).Bind(settings);
            using var loggers = CliLogging.Create(LogLevel.Information);
            await using var server = await DashboardServer.StartAsync(settings, loggers.CreateLogger("EdgeEvents.dashboard"), ct);
            Console.Out.WriteLine(server.Url);
            await Console.Out.FlushAsync(ct);
            try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
