// Each benchmark measures our code next to a bare baseline in the same run and prints the ratio.
// Usage: dotnet run -c Release --project bench/EdgeEvents.Bench -- <benchmark> [options]; --help lists both.
// A benchmark registers here in one line: its class builds the command (see BenchOptions).
using System.CommandLine;
using EdgeEvents.Bench;

var root = new RootCommand("EdgeEvents benchmarks: our code next to a bare baseline measured in the same run.");
root.Subcommands.Add(TransportBench.Command());
root.Subcommands.Add(DetectorBench.Command());
root.Subcommands.Add(DetectorSoakBench.Command());
root.Subcommands.Add(SceneBench.Command());
root.Subcommands.Add(LlmBench.Command());
root.Subcommands.Add(ObservabilityBench.Command());
root.Subcommands.Add(OutboxBench.Command());
root.Subcommands.Add(LoadBench.Command());
root.Subcommands.Add(PreprocessBench.Command());
root.Subcommands.Add(FleetBench.Command());
root.Subcommands.Add(RolloutBench.Command());
return await root.Parse(args).InvokeAsync();
