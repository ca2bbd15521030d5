using System.CommandLine;

var root = new RootCommand("EdgeEvents: a message-driven event pipeline for AI at the edge.");
return await root.Parse(args).InvokeAsync();
