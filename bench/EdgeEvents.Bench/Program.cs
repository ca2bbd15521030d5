// Each benchmark measures our code next to a bare baseline in the same run and prints the ratio.
// Usage: dotnet run -c Release --project bench/EdgeEvents.Bench -- <name> [options]
using EdgeEvents.Bench;


var benchmarks = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["transport"] = TransportBench.RunAsync,
    ["detector"] = DetectorBench.RunAsync,
    ["detector-soak"] = DetectorSoakBench.RunAsync,
    ["scene"] = SceneBench.RunAsync,
    ["llm"] = LlmBench.RunAsync,
    ["observability"] = ObservabilityBench.RunAsync,
    ["outbox"] = OutboxBench.RunAsync,
    ["load"] = LoadBench.RunAsync,
    ["preprocess"] = PreprocessBench.RunAsync,
    ["rollout"] = RolloutBench.RunAsync,
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: EdgeEvents.Bench <{string.Join('|', benchmarks.Keys)}> [options]");
    return 2;
}
return await run(args[1..]);
