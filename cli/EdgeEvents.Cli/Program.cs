using System.CommandLine;

var root = new RootCommand("EdgeEvents: a message-driven event pipeline for AI at the edge.");
root.Subcommands.Add(EdgeEvents.Cli.Commands.SceneCommand.Create());
return await root.Parse(args).InvokeAsync();
