using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Manifests.Tests.Infrastructure;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using k8s.Models;
using Xunit.Abstractions;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The CPU image built as its Containerfile says (the CLI published on the host, <c>podman build</c> on a Debian base
/// made from the package mirror, since no image registry is reachable here) and the <c>cpu</c> overlay's pipeline run
/// from it with podman: the broker and one pod of every worker (every ordinal of a StatefulSet, each owning a
/// partition) as containers started with the image, command, arguments, environment and volumes the rendered overlay
/// gives them, the models volume read-only at /models, a read-only root filesystem and an arbitrary non-root UID in
/// group 0 (as OpenShift assigns). Host networking: only the listeners move, to free loopback ports. The test then sees
/// the simulated camera's frames detected and tracked, a photo sent as a real camera would send it detected and
/// announced as a scene event, and a question answered.
/// </summary>
public sealed class CpuImage_Tests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>The base CI builds from (manifests/images/debian-base.sh makes it).</summary>
    private const string BaseImage = "localhost/debian:bookworm";
    private const string BrokerImage = "localhost/edgeevents-test/mosquitto:bookworm";
    /// <summary>An OpenShift-style arbitrary UID: not the image's own user, group 0.</summary>
    private const string ArbitraryUser = "1000650000:0";

    private static readonly string Images = Path.Combine(Repository.Manifests, "images");
    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("cpu-image-").FullName;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<RenderedContainer> _containers = [];
    private readonly List<IMessageTransport> _clients = [];

    public Task InitializeAsync()
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1ED); // 0755: the containers' UID reaches the volume folders inside
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        foreach (var container in _containers) await container.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [RequiresFact("podman", "runc", "mmdebstrap", "kubectl", "mosquitto_passwd")]
    public async Task Cpu_overlay_pipeline_runs_from_the_image_built_here()
    {
        var rendered = Rendered.Of(Path.Combine("overlays", "cpu"));
        var workers = rendered.Containers.Where(x => PodFacts.IsEdgeEvents(x.Container)).ToList();
        var image = workers.Select(x => x.Container.Image).Distinct().Single();

        var clock = Stopwatch.StartNew();
        EnsureBaseImage();
        BuildImage(image);
        var size = Podman.ImageSize(image);
        output.WriteLine($"{image}: {size / 1e6:0.0} MB ({size} bytes), " +
            $"base {Podman.ImageSize(BaseImage) / 1e6:0.0} MB; made in {clock.Elapsed.TotalSeconds:0} s");
        var brokerContainerfile =
            Path.Combine(Repository.Root, "tests", "EdgeEvents.Manifests.Tests", "Images", "mosquitto.Containerfile");
        Podman.Require(["build", "--network", "host", "-t", BrokerImage, "-f", brokerContainerfile, _dir], BuildLimit);

        var secrets = GeneratedSecrets.Create(_dir).Secrets;
        var claims = new Dictionary<string, string> { ["models"] = ModelsVolume(rendered) };
        clock.Restart();
        var brokerPort = await StartBrokerAsync(rendered, secrets);

        var health = new List<(string Name, RenderedContainer Container, string ReadyUrl)>();
        foreach (var (workload, container) in workers)
        {
            // A Deployment's pods are alike; each pod of a StatefulSet owns a partition of the cameras.
            foreach (var ordinal in Enumerable.Range(0, workload.Kind == "StatefulSet" ? workload.Replicas : 1))
            {
                var name = $"{workload.Name}-{ordinal}";
                var sandbox = new PodSandbox(Path.Combine(_dir, name), rendered, workload, container, secrets, claims);
                var port = LoopbackPorts.Next();
                var env = ContainerEnvironment.Of(rendered, container, ordinal, secrets).ToDictionary(e => e.Key,
                    e => e.Key switch
                    {
                        "EDGEEVENTS_Transport__Broker" => $"{new Uri(e.Value).Scheme}://127.0.0.1:{brokerPort}",
                        "EDGEEVENTS_Health__Port" => port.ToString(CultureInfo.InvariantCulture),
                        _ => e.Value,
                    });
                env["EDGEEVENTS_Health__BindAddress"] = "127.0.0.1";
                var started = RenderedContainer.Start($"edgeevents-{_run}-{name}", name, image, container, sandbox,
                    env, ArbitraryUser);
                _containers.Add(started);
                health.Add((name, started, $"http://127.0.0.1:{port}{container.ReadinessProbe.HttpGet.Path}"));
            }
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var notReady = (await Task.WhenAll(health.Select(async h =>
            await WaitForAsync(() => IsOkAsync(http, h.ReadyUrl), h.Container.Process, TimeSpan.FromMinutes(3))
                ? null
                : $"{h.Name}: {h.ReadyUrl} never answered 200\n{h.Container.Output}"))).OfType<string>().ToList();
        Assert.True(notReady.Count == 0, string.Join("\n\n", notReady));
        output.WriteLine($"{health.Count} worker containers ready ({string.Join(", ", health.Select(h => h.Name))}) " +
            $"{clock.Elapsed.TotalSeconds:0} s after the broker started");

        var broker = $"mqtt://127.0.0.1:{brokerPort}";
        var admin = await ClientAsync(broker, "admin", secrets);
        var detections = await admin.SubscribeAsync(new SubscriptionRequest("edge/detections/cam1"), default);
        var scene = await admin.SubscribeAsync(new SubscriptionRequest("edge/scene/cam1"), default);
        var detectionSet = MessageCodec.Deserialize<DetectionSet>((await NextAsync(detections, "detections")).Payload,
            ContentTypes.Json);
        var state = MessageCodec.Deserialize<SceneState>((await NextAsync(scene, "scene state")).Payload,
            ContentTypes.Json);
        // Unread messages would fill these and hold up the client's other subscriptions.
        await detections.DisposeAsync();
        await scene.DisposeAsync();
        output.WriteLine($"cam1 (synthetic): detections of frame {detectionSet.FrameSequence}: " +
            $"{detectionSet.Detections.Count}; scene at frame {state.Frame.Sequence}");

        // A real camera's frames: a photo as a bare JPEG from cam2 (decoded by the image's libturbojpeg), whose objects
        // the scene confirms over a few frames and announces as events.
        var camera = await ClientAsync(broker, "cam2", secrets);
        var photoDetections = await admin.SubscribeAsync(new SubscriptionRequest("edge/detections/cam2"), default);
        var events = await admin.SubscribeAsync(new SubscriptionRequest("edge/events/cam2"), default);
        var photo = await File.ReadAllBytesAsync(TestData.Sample("bus.jpg"));
        var sent = 0;
        for (var deadline = DateTime.UtcNow.AddMinutes(2); !events.Messages.TryPeek(out _); await Task.Delay(500))
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"No scene event for cam2 after {sent} frames in 2 minutes.\n{Logs()}");
            var frame = new OutgoingMessage("edge/frames/cam2", photo) { ContentType = ContentTypes.Jpeg };
            await camera.PublishAsync(frame, default);
            sent++;
        }
        var photoSet = MessageCodec.Deserialize<DetectionSet>(
            (await NextAsync(photoDetections, "detections of cam2")).Payload, ContentTypes.Json);
        var sceneEvent = MessageCodec.Deserialize<SceneEvent>((await NextAsync(events, "scene event")).Payload,
            ContentTypes.Json);
        output.WriteLine($"cam2 (bus.jpg, {sent} frames sent): " +
            $"{string.Join(", ", photoSet.Detections.Select(d => d.Label))}; " +
            $"first event: {sceneEvent.Type} {sceneEvent.Label}");
        Assert.NotEmpty(photoSet.Detections);
        Assert.Equal(SceneEventTypes.New, sceneEvent.Type);

        var asker = await ClientAsync(broker, "asker", secrets);
        var answers = await asker.SubscribeAsync(new SubscriptionRequest("edge/answers/asker"), default);
        const string question = "What do you see?";
        var questionMessage = new OutgoingMessage("edge/questions/asker", Encoding.UTF8.GetBytes(question))
        {
            ContentType = ContentTypes.Text
        };
        await asker.PublishAsync(questionMessage, default);
        var answer = MessageCodec.Deserialize<Answer>((await NextAsync(answers, "answer")).Payload, ContentTypes.Json);
        output.WriteLine($"answer ({answer.Status}; {answer.PromptTokens} prompt and " +
            $"{answer.CompletionTokens} completion tokens, first after " +
            $"{answer.TimeToFirstTokenMs:0} ms, {answer.TotalMs:0} ms in all): " +
            $"{answer.Text} | facts: {answer.FactsAnswer}");
        Assert.Equal(question, answer.Question);
        // The model ran in the container (llama.cpp's natives loaded); on a loaded CI machine it may run out of its
        // QuestionTimeout, which still answers with what it generated and the facts.
        Assert.Contains(answer.Status, new[] { AnswerStatus.Ok, AnswerStatus.Timeout });
        Assert.True(answer.CompletionTokens > 0, $"the model generated nothing: {answer.Status} {answer.Reason}");
        // Ready once is not enough: a worker whose background service failed after its first probe has exited.
        Assert.True(_containers.All(c => !c.Process.HasExited), $"a container exited:\n{Logs()}");
    }

    /// <summary>
    /// The base image, made from the Debian mirror unless an earlier run left it (mmdebstrap takes minutes).
    /// </summary>
    private void EnsureBaseImage()
    {
        if (Podman.ImageExists(BaseImage)) return;
        var made = Tool.Run("/bin/bash", [Path.Combine(Images, "debian-base.sh"), BaseImage],
            environment: Podman.Environment, limit: BuildLimit);
        Assert.True(made.ExitCode == 0, $"debian-base.sh failed ({made.ExitCode}):\n{made.Stdout}\n{made.Stderr}");
    }

    /// <summary>
    /// The two commands of the Containerfile's header, as written there: the publish into a fresh folder, and the build
    /// of that folder on the CI base (with the host's network for apt).
    /// </summary>
    private void BuildImage(string image)
    {
        var header = File.ReadAllLines(Path.Combine(Images, "Containerfile"))
            .Where(l => l.StartsWith("#   ", StringComparison.Ordinal)).Select(l => l[1..].Trim()).ToList();
        var publish = header.Single(l => l.StartsWith("dotnet publish ", StringComparison.Ordinal)).Split(' ')[1..];
        var build = header.Single(l => l.StartsWith("podman build ", StringComparison.Ordinal)).Split(' ')[1..];
        var output = Array.IndexOf(publish, "-o") + 1;
        Assert.Equal(publish[output], build[^1]); // the build's context is the publish's output
        Assert.Equal(image, build[Array.IndexOf(build, "-t") + 1]);
        publish[output] = build[^1] = Path.Combine(_dir, "publish");

        var published = Tool.Run("dotnet", publish, limit: BuildLimit);
        Assert.True(published.ExitCode == 0,
            $"dotnet {string.Join(' ', publish)} failed:\n{published.Stdout}\n{published.Stderr}");
        // ONNX Runtime's CPU provider is in libonnxruntime.so; its CUDA and TensorRT providers stay out of the CPU
        // image.
        Assert.True(File.Exists(Path.Combine(build[^1], "libonnxruntime.so")));
        Assert.Empty(Directory.GetFiles(build[^1], "libonnxruntime_providers_*")
            .Select(Path.GetFileName)
            .Except(["libonnxruntime_providers_shared.so"]));
        var previous = ImageId(image);
        Podman.Require([.. build[..^1], "--network", "host", "--build-arg", $"BASE_IMAGE={BaseImage}", build[^1]],
            BuildLimit);
        // The last run's image lost its tag to this one: remove it rather than leave 180 MB behind per run.
        if (previous.Length > 0 && previous != ImageId(image)) Podman.Run(["rmi", previous]);
    }

    private static string ImageId(string image) =>
        Podman.Run(["image", "inspect", "--format", "{{.Id}}", image]).Stdout.Trim();

    /// <summary>
    /// A folder holding the files the ConfigMaps name, as an operator would copy them onto the models volume.
    /// </summary>
    private string ModelsVolume(Rendered rendered)
    {
        var models = Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName;
        File.Copy(TestData.Model("yolov8n_int8_dynamic.onnx"), Path.Combine(models, "yolov8n_int8_dynamic.onnx"));
        File.Copy(TestData.Model("stories260K.gguf"), Path.Combine(models, "llm.gguf"));
        var named = rendered.All<V1ConfigMap>()
            .SelectMany(m => m.Data?.Values ?? [])
            .Where(v => v.StartsWith("/models/", StringComparison.Ordinal));
        Assert.All(named, path => Assert.True(File.Exists(Path.Combine(models, path["/models/".Length..])),
            $"{path} is not on the test's models volume"));
        return models;
    }

    /// <summary>
    /// The broker StatefulSet's container on the stand-in image, its listener moved to a free loopback port.
    /// </summary>
    private async Task<int> StartBrokerAsync(Rendered rendered, IReadOnlyDictionary<string, V1Secret> secrets)
    {
        var workload = rendered.Workload("mosquitto");
        var container = workload.Pod.Containers.Single();
        var sandbox = new PodSandbox(Path.Combine(_dir, "mosquitto-0"), rendered, workload, container, secrets,
            new Dictionary<string, string>());
        var port = LoopbackPorts.Next();
        RenderedBroker.Rewrite(sandbox.Map(container.Command[container.Command.IndexOf("-c") + 1]), null,
            ("listener 1883\n", $"listener {port} 127.0.0.1\n"));
        var broker = RenderedContainer.Start($"edgeevents-{_run}-mosquitto-0", "mosquitto-0", BrokerImage, container,
            sandbox, ContainerEnvironment.Of(rendered, container, secrets: secrets), ArbitraryUser);
        _containers.Add(broker);
        Assert.True(await WaitForAsync(() => AcceptsAsync(port), broker.Process, TimeSpan.FromMinutes(1)),
            $"the broker container did not listen on {port}:\n{broker.Output}");
        return port;
    }

    private async Task<IMessageTransport> ClientAsync(string broker, string user,
        IReadOnlyDictionary<string, V1Secret> secrets)
    {
        var password = Encoding.UTF8.GetString(secrets["edgeevents-broker-credentials"].Data[user]);
        var options = TestTransports.Options(broker) with { Username = user, Password = password };
        var client = await TestTransports.ConnectAsync(options);
        _clients.Add(client);
        return client;
    }

    private async Task<ReceivedMessage> NextAsync(IMessageSubscription subscription, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            return await subscription.Messages.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No {what} on {subscription.Request.Filter} within 2 minutes.\n{Logs()}");
        }
    }

    /// <summary>The last lines of every container's output, for failure messages.</summary>
    private string Logs() =>
        string.Join('\n',
            _containers.Select(c => $"--- {c.Name}:\n{string.Join('\n', c.Output.Split('\n').TakeLast(40))}"));

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition, CliProcess process, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        for (; DateTime.UtcNow < deadline && !process.HasExited; await Task.Delay(250))
        {
            if (await condition()) return true;
        }
        return false;
    }

    private static async Task<bool> IsOkAsync(HttpClient http, string url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
