using System.CommandLine;
using EdgeEvents.Broker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events broker</c>: the embedded MQTT broker, so nothing needs installing.</summary>
public static class BrokerCommand
{
    public static Command Create()
    {
        var defaults = new BrokerOptions();
        var port = new Option<int>("--port")
        {
            Description = "TCP port; 0 picks a free one and prints it" + HelpDefault.Of(defaults.Port),
        };
        var bind = new Option<string>("--bind")
        {
            Description = "Address to listen on" + HelpDefault.Of(defaults.BindAddress),
        };
        var webSocketPort = new Option<int>("--ws-port")
        {
            Description = "Also serve MQTT over WebSockets (ws://host:port/mqtt) for browsers; 0 picks a free port " +
                "[default: off]",
        };
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Folder where retained messages, persistent sessions and their queued messages survive " +
                "a restart [default: none, all in memory]",
        };
        ConfigOption[] options =
        [
            new(port, "Broker:Port"), new(bind, "Broker:BindAddress"), new(webSocketPort, "Broker:WebSocketPort"),
            new(data, "Broker:DataPath"),
        ];
        var command = new Command("broker",
            "Run the embedded MQTT broker (MQTT 3.1.1 and 5, shared subscriptions, optionally over WebSockets).");
        HostedCommand.AddOptions(command, options);
        command.Options.Add(HostedCommand.ConfigFile);
        command.SetAction(async (parse, ct) =>
        {
            var builder = HostedCommand.CreateBuilder(parse, options);
            var settings = new BrokerOptions();
            builder.Configuration.GetSection(BrokerOptions.Section).Bind(settings);
            using var loggers = CliLogging.Create(LogLevel.Information);
            await using var broker =
                await EmbeddedBroker.StartAsync(settings, loggers.CreateLogger("EdgeEvents.broker"), ct);
            Console.Out.WriteLine(broker.Url);
            if (broker.WebSocketUrl is { } webSocketUrl) Console.Out.WriteLine(webSocketUrl);
            await Console.Out.FlushAsync(ct);
            try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
