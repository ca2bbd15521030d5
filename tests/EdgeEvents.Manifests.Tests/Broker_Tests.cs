using EdgeEvents.Manifests.Tests.Infrastructure;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The brokers start from the configuration the overlays render, with the credentials manifests/secrets makes.
/// </summary>
public sealed class Broker_Tests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("brokers-").FullName;

    // 0755: mosquitto started as root drops to its own user
    public Broker_Tests() => File.SetUnixFileMode(_dir, (UnixFileMode)0x1ED);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RequiresFact("kubectl", "mosquitto", "mosquitto_passwd", "mosquitto_pub", "mosquitto_sub")]
    public async Task Mosquitto_from_the_overlay_refuses_anonymous_clients_and_admits_a_camera_only_to_its_own_frames()
    {
        var generated = GeneratedSecrets.Create(_dir);
        var passwords = File.ReadAllLines(generated.LocalFile("passwords.env"))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);
        await using var broker =
            await RenderedBroker.StartAsync(_dir, Rendered.Of(Path.Combine("overlays", "cpu")), generated.Secrets);
        var port = broker.Ports[1883];
        string[] Server() => ["-h", "127.0.0.1", "-p", $"{port}", "-V", "mqttv5"];
        Tool.Result Publish(string topic, string payload, params string[] credentials) =>
            Tool.Run(Tool.Require("mosquitto_pub"),
                [.. Server(), "-q", "1", "-t", topic, "-m", payload, .. credentials]);

        Assert.NotEqual(0, Publish("edge/frames/cam1", "anonymous").ExitCode);
        Assert.NotEqual(0, Publish("edge/frames/cam1", "wrong password", "-u", "cam1", "-P", "wrong").ExitCode);

        // The detector reads every camera's frames; cam1 may publish only its own, so the ACL drops its first message.
        // The detector subscribes in a persistent session first, so both messages are queued for it in order.
        string[] Detector() =>
        [
            "-h", "127.0.0.1", "-p", $"{port}", "-u", "detector", "-P", passwords["detector"],
            "-i", "manifests-test-detector", "-c", "-q", "1", "-t", "edge/frames/+"
        ];
        Tool.Run(Tool.Require("mosquitto_sub"), [.. Detector(), "-W", "1"]);
        Assert.Equal(0,
            Publish("edge/frames/cam2", "cam1 posing as cam2", "-u", "cam1", "-P", passwords["cam1"]).ExitCode);
        Assert.Equal(0, Publish("edge/frames/cam1", "cam1 frame", "-u", "cam1", "-P", passwords["cam1"]).ExitCode);

        var received = Tool.Run(Tool.Require("mosquitto_sub"), [.. Detector(), "-C", "1", "-W", "20"]);
        Assert.Equal("cam1 frame", received.Stdout.Trim());
    }

    [RequiresFact("kubectl", "nats-server", "mosquitto_passwd")]
    public void Nats_server_accepts_the_overlay_configuration_with_every_password_it_reads_from_the_Secret()
    {
        var rendered = Rendered.Of(Path.Combine("overlays", "nats"));
        var secrets = GeneratedSecrets.Create(_dir).Secrets;
        var workload = rendered.Workload("nats");
        var container = workload.Pod.Containers.Single();
        var sandbox = new PodSandbox(_dir, rendered, workload, container, secrets, new Dictionary<string, string>());
        var config = sandbox.Map(container.Args[container.Args.IndexOf("--config") + 1]);
        File.WriteAllText(config, sandbox.MapText(File.ReadAllText(config)));

        // Every password comes from the Secret, none is written in the configuration.
        Assert.All(container.Env, e => Assert.NotNull(e.ValueFrom?.SecretKeyRef));
        var env = ContainerEnvironment.Of(rendered, container, secrets: secrets).ToDictionary(e => e.Key, e => e.Value);
        env["PATH"] = "/usr/bin:/bin";
        var check = Tool.Run(Tool.Require("nats-server"), ["-c", config, "-t"], environment: env);

        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
    }
}
