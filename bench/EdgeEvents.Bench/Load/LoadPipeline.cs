using EdgeEvents.Testing;

namespace EdgeEvents.Bench.Load;

/// <summary>
/// One transport's broker and the real <c>edge-events</c> worker processes on it (detectors in one shared-subscription
/// / queue group, scene, llm), each with a <see cref="ProcessMeter"/>.
/// </summary>
public sealed class LoadPipeline : IAsyncDisposable
{
    public const string Embedded = "embedded";
    public const string Mosquitto = "mosquitto";
    public const string Nats = "nats";
    public const string DetectorGroup = "detectors";

    // Stats every second (the dashboard reads drop counters from them); only warnings in the captured logs.
    private static readonly Dictionary<string, string> WorkerEnvironment = new()
    {
        ["EDGEEVENTS_Stats__Interval"] = "1s",
        ["EDGEEVENTS_Stats__Log"] = "false",
        ["EDGEEVENTS_Logging__LogLevel__Default"] = "Warning",
    };

    private readonly CliProcess? _brokerCli;
    private readonly ProcessBroker? _brokerProcess;
    private readonly List<(string Name, CliProcess Process)> _workers = [];

    private LoadPipeline(string transport, string url, CliProcess? brokerCli, ProcessBroker? brokerProcess,
        int brokerPid)
    {
        (Transport, Url, _brokerCli, _brokerProcess) = (transport, url, brokerCli, brokerProcess);
        Meters.Add(new ProcessMeter("broker", brokerPid));
    }

    public string Transport { get; }
    public string Url { get; }
    public int Detectors => _workers.Count(w => w.Name.StartsWith("detector", StringComparison.Ordinal));

    /// <summary>The broker's and every worker's meter, in start order.</summary>
    public List<ProcessMeter> Meters { get; } = [];

    /// <summary>Starts the broker of <paramref name="transport"/> (embedded = the <c>edge-events broker</c> process) on
    /// a free loopback port.</summary>
    public static async Task<LoadPipeline> StartBrokerAsync(string transport)
    {
        switch (transport)
        {
            case Embedded:
                var cli = CliProcess.StartEdgeEvents("broker", "--port", "0");
                var url = cli.WaitForLine(l => l.StartsWith("mqtt://", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30));
                return new LoadPipeline(transport, url, cli, null, cli.Id);
            case Mosquitto:
                var mosquitto = await MosquittoBroker.StartNewAsync();
                return new LoadPipeline(transport, mosquitto.Url, null, mosquitto, mosquitto.ProcessId!.Value);
            case Nats:
                var nats = await NatsServer.StartNewAsync();
                return new LoadPipeline(transport, nats.Url, null, nats, nats.ProcessId!.Value);
            default:
                throw new ArgumentException($"Unknown transport '{transport}': use {Embedded}, {Mosquitto} or {Nats}.",
                    nameof(transport));
        }
    }

    /// <summary>Starts one more detector process in the shared group, on the CPU provider as the bare
    /// baseline.</summary>
    public void AddDetector(string modelPath) =>
        StartWorker($"detector-{Detectors + 1}", "detector", "--model", modelPath, "--providers", "CPU", "--group",
            DetectorGroup);

    public void StartScene() => StartWorker("scene", "scene");

    /// <summary>The LLM worker with its default context (the model's training context, capped; it fits the scene facts
    /// to it).</summary>
    public void StartLlm(string modelPath) => StartWorker("llm", "llm", "--model", modelPath);

    private void StartWorker(string name, params string[] args)
    {
        var process = CliProcess.Start("dotnet", [CliProcess.EdgeEventsDll, .. args, "--broker", Url, "--client-id",
            $"load-{name}"], WorkerEnvironment);
        _workers.Add((name, process));
        Meters.Add(new ProcessMeter(name, process.Id));
    }

    /// <summary>Throws with the worker's stderr if any worker has exited (a crash must not pass as low
    /// throughput).</summary>
    public void ThrowIfAnyExited()
    {
        foreach (var (name, process) in _workers)
            if (process.HasExited) throw new InvalidOperationException($"{Transport}: the {name} process " +
                $"exited:\n{process.StandardError}");
    }

    public async ValueTask DisposeAsync()
    {
        // Workers log warnings only (reconnects, overload, errors): show them, they explain odd figures.
        foreach (var (name, process) in _workers)
        {
            var lines = process.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length > 0) Console.Error.WriteLine($"{Transport} {name}: {lines.Length} warning line(s), the " +
                $"last ones:\n  {string.Join("\n  ", lines.TakeLast(8))}");
            await process.DisposeAsync();
        }
        if (_brokerCli is not null) await _brokerCli.DisposeAsync();
        if (_brokerProcess is not null) await _brokerProcess.DisposeAsync();
    }
}
