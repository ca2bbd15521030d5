using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector;
using EdgeEvents.Detector.Rollout;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using static EdgeEvents.Bench.BenchSupport;

namespace EdgeEvents.Bench;

/// <summary>
/// Over-the-air model switch under camera load: a detector (CPU) runs yolov8n_int8_dynamic while two cameras publish
/// bus.jpg faster than it can process; after a steady window, a control message names the same model file as a new
/// version (so only the rollout's own cost shows: fetch, gate, loading, switch). Prints the time from the control
/// message to the first detection set of the new version, and frames/s from the control message to that set and in
/// the seconds after it, each against the steady window of the same round.
/// </summary>
public static class RolloutBench
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Command()
    {
        var quick = BenchOptions.Quick("One round, 5 s steady windows");
        var rounds = new Option<int>("--rounds") { Description = "Rounds [default: 3, 1 with --quick]" };
        var command = new Command("rollout", "Time from a model control message to the new model's first detection " +
            "set, and frames/s during the switch against steady state.") { quick, rounds };
        command.SetAction(parse => RunAsync(parse.GetValue(quick), parse.GivenOr(rounds, parse.GetValue(quick) ? 1 : 3)));
        return command;
    }

    public static async Task<int> RunAsync(bool quick, int rounds)
    {
        var steady = TimeSpan.FromSeconds(quick ? 5 : 10);
        var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        Console.WriteLine($"rollout bench: {rounds} round(s), steady window {steady.TotalSeconds:F0} s, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm}");
        Console.WriteLine("| round | control → first new set (s) | steady fps | fps control → switch (÷ steady) | fps 3 s after (÷ steady) |");
        Console.WriteLine("|---|---|---|---|---|");
        for (var round = 1; round <= rounds; round++)
        {
            var (toFirst, steadyFps, switchFps, afterFps) = await RoundAsync(jpeg, steady, round);
            Console.WriteLine($"| {round} | {toFirst.TotalSeconds:F2} | {steadyFps:F1} | {switchFps:F1} ({switchFps / steadyFps:F2}) | {afterFps:F1} ({afterFps / steadyFps:F2}) |");
        }
        return 0;
    }

    private static async Task<(TimeSpan ToFirst, double Steady, double Switch, double After)> RoundAsync(byte[] jpeg, TimeSpan steady, int round)
    {
        var data = Directory.CreateTempSubdirectory("rollout-bench-").FullName;
        try
        {
            var model = TestData.Model("yolov8n_int8_dynamic.onnx");
            var options = new DetectorOptions
            {
                ModelPath = model, Providers = "CPU", SnapshotsPerSecond = 0, DataPath = data,
                Rollout = new RolloutOptions { MaxSlowdown = 3, Probation = TimeSpan.FromSeconds(30) },
            };
            await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
            await using var component = await TestTransports.ComponentAsync(TestTransports.Options(broker.Url), "detector");
            var worker = new DetectorWorker(options, component, NullLoggerFactory.Instance, "bench-detector");
            await worker.StartAsync(CancellationToken.None);
            await using var observer = await TestTransports.ConnectAsync(broker.Url);
            await using var detections = await observer.SubscribeAsync(new SubscriptionRequest("edge/detections/+") { Capacity = 4096 }, default);
            await using var cameras = await RawMqttCamera.ConnectAsync(broker.Port, "bench-cameras", default);
            using var stop = new CancellationTokenSource();
            var camera = Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    for (var c = 1; c <= 2; c++) await cameras.PublishAsync($"edge/frames/bench{c}", jpeg, default);
                    var next = TimeSpan.FromSeconds((n + 1) / 15.0);
                    if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed);
                }
            });

            var clock = Stopwatch.StartNew();
            var arrivals = new List<(TimeSpan At, string Model)>();
            TimeSpan? requested = null, first = null;
            var version = $"v{round}-copy";
            while (first is null || clock.Elapsed < first + TimeSpan.FromSeconds(3))
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var message = await detections.Messages.ReadAsync(timeout.Token);
                var set = MessageCodec.Deserialize<DetectionSet>(message.Payload, message.ContentType);
                arrivals.Add((clock.Elapsed, set.ModelId));
                if (set.ModelId == version) first ??= clock.Elapsed;
                if (requested is null && clock.Elapsed > TimeSpan.FromSeconds(1) + steady)
                {
                    var request = new ModelRequest { Version = version, Uri = model, Sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(model))) };
                    await observer.PublishAsync(new OutgoingMessage("edge/control/detector/model",
                        JsonSerializer.SerializeToUtf8Bytes(request, Json))
                    { Retain = true }, default);
                    requested = clock.Elapsed;
                }
            }
            await stop.CancelAsync();
            await camera;
            await worker.StopAsync(CancellationToken.None);

            double Fps(TimeSpan from, TimeSpan to) => arrivals.Count(a => a.At >= from && a.At < to) / (to - from).TotalSeconds;
            var start = TimeSpan.FromSeconds(1);
            return (first.Value - requested!.Value, Fps(start, start + steady), Fps(requested.Value, first.Value),
                Fps(first.Value, first.Value + TimeSpan.FromSeconds(3)));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
