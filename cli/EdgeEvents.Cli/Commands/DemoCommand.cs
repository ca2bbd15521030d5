using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EdgeEvents.Broker;
using EdgeEvents.Camera;
using EdgeEvents.Cli.Dashboard;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Detector;
using EdgeEvents.Llm;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events demo</c>: the embedded broker, a camera, the detector, scene and LLM workers in one process, a live
/// view of what flows, and one question asked and answered.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port")
        {
            Description = "Embedded broker port; a free one is taken if it is busy or 0",
            DefaultValueFactory = _ => 1883,
        };
        var webSocketPort = new Option<int>("--ws-port")
        {
            Description = "Embedded broker's MQTT-over-WebSockets port, for the dashboard; " +
                "a free one is taken if it is busy or 0",
            DefaultValueFactory = _ => 9001,
        };
        var httpPort = new Option<int>("--http-port")
        {
            Description = "Dashboard page port; a free one is taken if it is busy or 0",
            DefaultValueFactory = _ => 8080,
        };
        var duration = DurationOption.Create("--duration",
            "Stop after this long, e.g. 2m; 0s runs until Ctrl-C" + HelpDefault.Of(TimeSpan.Zero));
        var question = new Option<string>("--question")
        {
            Description = "The question asked once the first scene is known",
            DefaultValueFactory = _ => "How many people do you see?",
        };
        var source = new Option<string>("--source")
        {
            Description = "Folder of images, one image, or 'synthetic' [default: ../shared/samples if found]",
        };
        var fps = new Option<double>("--fps")
        {
            Description = "Camera frames per second" + HelpDefault.Of(new CameraOptions().Fps),
        };
        var model = new Option<string>("--model")
        {
            Description = "Detector ONNX model [default: found in models/ or ../shared/models]",
        };
        var llmModel = new Option<string>("--llm-model")
        {
            Description = "GGUF model for answers [default: found in models/ or ../shared/models]",
        };
        ConfigOption[] options =
        [
            new(source, "Camera:Source"), new(fps, "Camera:Fps"), new(model, "Detector:ModelPath"),
            new(llmModel, "Llm:ModelPath"),
            new(DetectorCommand.Data(), "Detector:DataPath"),
            new(HostedCommand.Prefix, "Transport:Prefix"), new(HostedCommand.HealthPort, "Health:Port"),
        ];
        var command = new Command("demo", "Run the whole pipeline on an embedded broker and print what flows: " +
            "detections, scene events, a question and its answer.");
        HostedCommand.AddOptions(command, options);
        command.Options.Add(port);
        command.Options.Add(webSocketPort);
        command.Options.Add(httpPort);
        command.Options.Add(duration);
        command.Options.Add(question);
        command.Options.Add(HostedCommand.ConfigFile);
        command.SetAction((parse, ct) => RunAsync(parse, options,
            new DemoPorts(parse.GetValue(port), parse.GetValue(webSocketPort), parse.GetValue(httpPort)),
            parse.GetValue(duration), parse.GetValue(question)!, ct));
        return command;
    }

    /// <summary>The ports asked for; each is taken if free, else (and for 0) a free one.</summary>
    private sealed record DemoPorts(int Broker, int WebSocket, int Http);

    private static async Task<int> RunAsync(ParseResult parse, IEnumerable<ConfigOption> options, DemoPorts ports,
        TimeSpan duration, string question, CancellationToken ct)
    {
        var builder = HostedCommand.CreateBuilder(parse, options);
        var configuration = builder.Configuration;
        var detectorModel = ModelLocator.Find(configuration["Detector:ModelPath"], ModelLocator.DetectorPatterns);
        if (detectorModel is null)
        {
            var missing = ModelLocator.MissingHelp(
                "detector model (YOLOv8 .onnx)", "Detector:ModelPath", "--model", "yolov8n.onnx");
            await Console.Error.WriteLineAsync(missing
                + "YOLOv8n: export it with Ultralytics (`yolo export model=yolov8n.pt format=onnx`); "
                + "YOLOX-nano (Apache-2.0) from the YOLOX releases.");
            return 2;
        }
        var llm = ModelLocator.Find(configuration["Llm:ModelPath"], ModelLocator.LlmPatterns);
        if (llm is null)
            await Console.Error.WriteLineAsync(
                ModelLocator.MissingHelp("GGUF model for the LLM worker", "Llm:ModelPath", "--llm-model", "model.gguf")
                + "Any GGUF works (e.g. a 1B–7B instruct model from Hugging Face). "
                + "The demo runs on without the LLM worker.");

        using var loggers = CliLogging.Create(LogLevel.Warning);
        var topics = new TopicScheme(configuration["Transport:Prefix"] ?? TopicScheme.DefaultPrefix);
        var brokerOptions = new BrokerOptions { Port = FreeOr(ports.Broker), WebSocketPort = FreeOr(ports.WebSocket) };
        await using var broker = await EmbeddedBroker.StartAsync(brokerOptions,
            loggers.CreateLogger("EdgeEvents.broker"), ct);
        if (ports.Broker != 0 && broker.Port != ports.Broker)
            Console.WriteLine($"Port {ports.Broker} is busy; the embedded broker took {broker.Port}.");
        var dashboardOptions = new DashboardOptions
        {
            HttpPort = FreeOr(ports.Http), BrokerWebSocket = broker.WebSocketUrl!, Prefix = topics.Prefix,
        };
        await using var dashboard = await DashboardServer.StartAsync(dashboardOptions,
            loggers.CreateLogger("EdgeEvents.dashboard"), ct);

        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Broker"] = broker.Url,
            ["Detector:ModelPath"] = detectorModel.Path,
            ["Llm:ModelPath"] = llm?.Path,
            // A still photo should be seen for a few seconds, long enough to be tracked, not flash by.
            ["Camera:RepeatEach"] = configuration["Camera:RepeatEach"] ?? "8",
            // On a small CPU an answer within seconds matters more than a long one; the facts answer is always there.
            ["Llm:MaxTokens"] = configuration["Llm:MaxTokens"] ?? "48",
            ["Llm:QuestionTimeout"] = configuration["Llm:QuestionTimeout"] ?? "20s",
            // Point Home Assistant's MQTT integration at the demo broker and the cameras appear as devices.
            ["HomeAssistant:Enabled"] = configuration["HomeAssistant:Enabled"] ?? "true",
        });
        // One /metrics, /healthz and /readyz for all the demo's workers when --health-port is given.
        builder.AddEdgeServiceDefaults("demo");
        builder.Services.AddCameraWorker(configuration);
        builder.Services.AddDetectorWorker(configuration);
        builder.Services.AddSceneWorker(configuration);
        if (llm is not null) builder.Services.AddLlmWorker(configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        PrintHeader(broker, dashboard, detectorModel, llm, topics);
        using var host = builder.Build();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (duration > TimeSpan.Zero) stop.CancelAfter(duration);
        var clock = Stopwatch.StartNew();
        await host.StartAsync(stop.Token);

        var view = new DemoView(topics, Console.Out);
        var viewerOptions = new TransportOptions
        {
            Broker = broker.Url, Prefix = topics.Prefix, ClientId = $"demo-view-{Environment.ProcessId}",
            PersistentSession = false,
        };
        await using var viewer = TransportFactory.Create(viewerOptions, "demo", loggers);
        await viewer.ConnectAsync(stop.Token);
        using var viewStop = new CancellationTokenSource();
        var viewing = view.RunAsync(viewer, viewStop.Token);
        var asking = llm is null
            ? Task.CompletedTask
            : AskWhenSceneIsKnownAsync(viewer, topics, question, view, stop.Token);

        try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
        if (!ct.IsCancellationRequested && view.Questions > view.Answers)
        {
            // The time is up but the question is still being answered: a demo should show its answer.
            Console.WriteLine("waiting up to 30 s for the answer…");
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
            grace.CancelAfter(TimeSpan.FromSeconds(30));
            try { while (view.Questions > view.Answers) await Task.Delay(200, grace.Token); }
            catch (OperationCanceledException) { }
        }
        await host.StopAsync(CancellationToken.None);
        await viewStop.CancelAsync();
        await Task.WhenAll(viewing, asking);
        var camera = host.Services.GetRequiredService<CameraWorker>();
        Console.WriteLine(view.Summary(clock.Elapsed, camera.Published));
        return 0;
    }

    /// <summary>
    /// Asks once the first events have arrived (or after 15 s), so the answer has a scene to stand on.
    /// </summary>
    private static async Task AskWhenSceneIsKnownAsync(IMessageTransport transport, TopicScheme topics, string text,
        DemoView view, CancellationToken ct)
    {
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (view.Events == 0 && DateTime.UtcNow < deadline) await Task.Delay(250, ct);
            var q = new Question { Text = text, Asker = "demo" };
            var body = MessageCodec.Serialize(q, PayloadFormat.Json);
            await transport.PublishAsync(new OutgoingMessage(topics.Questions("demo"), body)
            {
                ContentType = ContentTypes.Json, ResponseTopic = topics.Answers("demo"), MessageId = q.Id,
            }, ct);
        }
        catch (OperationCanceledException) { }
    }

    private static void PrintHeader(EmbeddedBroker broker, DashboardServer dashboard, FoundModel detector,
        FoundModel? llm, TopicScheme topics)
    {
        var p = broker.Port;
        Console.WriteLine($"""
            EdgeEvents demo — embedded MQTT broker on {broker.Url} (WebSockets {broker.WebSocketUrl})
              detector model: {detector.Path} (from {detector.FoundIn})
              llm model:      {(llm is null ? "none (no LLM worker)" : $"{llm.Path} (from {llm.FoundIn})")}
            Live dashboard: open {dashboard.Url} in a browser
            Watch or ask yourself, from another terminal:
              mosquitto_sub -h 127.0.0.1 -p {p} -t '{topics.Prefix}/#' -v
              mosquitto_sub -h 127.0.0.1 -p {p} -t '{topics.AllOf(TopicKind.Events)}' -v
              mosquitto_sub -h 127.0.0.1 -p {p} -t '{topics.Answers("you")}' -C 1 & mosquitto_pub -h 127.0.0.1 -p {p} -t {topics.Questions("you")} -m "Is there a bus?"
              mqtt pub -h 127.0.0.1 -p {p} -t {topics.Questions("you")} -m "How many people?" --responseTopic {topics.Answers("you")} --correlationData q1
              dotnet run --project cli/EdgeEvents.Cli -- ask "How many people?" --broker {broker.Url}
            Ctrl-C stops.
            """);
    }

    /// <summary>The port when it is free on loopback, else 0 (the listener then picks a free one).</summary>
    private static int FreeOr(int port)
    {
        if (port == 0) return 0;
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return port;
        }
        catch (SocketException)
        {
            return 0;
        }
    }
}
