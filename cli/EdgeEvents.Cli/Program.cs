using System.CommandLine;

var root = new RootCommand("EdgeEvents: a message-driven event pipeline for AI at the edge.");
root.Subcommands.Add(EdgeEvents.Cli.Commands.LlmCommand.Create());
root.Subcommands.Add(EdgeEvents.Cli.Commands.AskCommand.Create());
return await root.Parse(args).InvokeAsync();
