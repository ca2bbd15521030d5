using System.CommandLine;
using EdgeEvents.Cli.Commands;

var root = new RootCommand("EdgeEvents: a message-driven event pipeline for AI at the edge.");
root.Subcommands.Add(BrokerCommand.Create());
root.Subcommands.Add(CameraCommand.Create());
root.Subcommands.Add(DetectorCommand.Create());
root.Subcommands.Add(WatchCommand.Create());
root.Subcommands.Add(SceneCommand.Create());
root.Subcommands.Add(LlmCommand.Create());
root.Subcommands.Add(AskCommand.Create());
root.Subcommands.Add(DashboardCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
return await root.Parse(args).InvokeAsync();
