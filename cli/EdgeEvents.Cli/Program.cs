using System.CommandLine;
using EdgeEvents.Cli.Commands;

var root = new RootCommand("EdgeEvents: a message-driven event pipeline for AI at the edge.");
root.Subcommands.Add(BrokerCommand.Create());
root.Subcommands.Add(CameraCommand.Create());
root.Subcommands.Add(DetectorCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(WatchCommand.Create());
root.Subcommands.Add(SceneCommand.Create());
root.Subcommands.Add(LlmCommand.Create());
root.Subcommands.Add(AskCommand.Create());
root.Subcommands.Add(DashboardCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(BridgeCommand.Create());
root.Subcommands.Add(FleetCommand.Create());
root.Subcommands.Add(LinkCommand.Create());
// Ctrl-C or SIGTERM cancel the command, and its hosts then stop within their own 5 s shutdown timeout
// (HostedCommand): System.CommandLine's forced exit, after 2 s by default, must not cut a graceful stop short.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(10) };
return await root.Parse(args).InvokeAsync(invocation);
