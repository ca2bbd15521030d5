using System.Net.Sockets;
using EdgeEvents.Testing;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// The broker of a rendered overlay (mosquitto or nats-server) started as its StatefulSet runs it: its command, its
/// configuration files, the generated credentials, its volumes as folders. Only the listeners move, to free loopback
/// ports (and mosquitto logs at every level); <see cref="Ports"/> maps each port of the <c>broker</c> Service to the
/// local one.
/// </summary>
public sealed class RenderedBroker : IAsyncDisposable
{
    private RenderedBroker(CliProcess process, IReadOnlyDictionary<int, int> ports) =>
        (Process, Ports) = (process, ports);

    public CliProcess Process { get; }

    /// <summary>Service port (1883, 4222) → local port.</summary>
    public IReadOnlyDictionary<int, int> Ports { get; }

    /// <summary>A worker's broker URL (<c>mqtt://broker:1883</c>) pointed at the local listener.</summary>
    public string Local(string url)
    {
        var uri = new Uri(url);
        return $"{uri.Scheme}://127.0.0.1:{Ports[uri.Port]}";
    }

    public static Task<RenderedBroker> StartAsync(string root, Rendered rendered,
        IReadOnlyDictionary<string, V1Secret> secrets) =>
        rendered.Workloads.Any(w => w.Name == "nats")
            ? StartNatsAsync(root, rendered, secrets)
            : StartMosquittoAsync(root, rendered, secrets);

    private static async Task<RenderedBroker> StartMosquittoAsync(string root, Rendered rendered,
        IReadOnlyDictionary<string, V1Secret> secrets)
    {
        var (workload, container, sandbox) = Prepare(root, rendered, "mosquitto", secrets);
        var port = LoopbackPorts.Next();
        var command = container.Command.Concat(container.Args ?? []).ToList();
        var config = sandbox.Map(command[command.IndexOf("-c") + 1]);
        // And log everything, so refused publishes show ("Denied PUBLISH" is a debug-level line).
        Rewrite(config, sandbox, ("listener 1883\n", $"listener {port} 127.0.0.1\nlog_type all\n"));
        var process = CliProcess.Start(Tool.Require("mosquitto"), ["-c", config]);
        return await ListeningAsync(process, new Dictionary<int, int> { [1883] = port }, workload.Name);
    }

    private static async Task<RenderedBroker> StartNatsAsync(string root, Rendered rendered,
        IReadOnlyDictionary<string, V1Secret> secrets)
    {
        var (workload, container, sandbox) = Prepare(root, rendered, "nats", secrets);
        var (nats, mqtt, monitoring) = (LoopbackPorts.Next(), LoopbackPorts.Next(), LoopbackPorts.Next());
        var config = sandbox.Map(container.Args[container.Args.IndexOf("--config") + 1]);
        Rewrite(config, sandbox,
            ("listen: 0.0.0.0:4222\n", $"listen: 127.0.0.1:{nats}\n"),
            ("http: 0.0.0.0:8222\n", $"http: 127.0.0.1:{monitoring}\n"),
            ("listen: 0.0.0.0:1883\n", $"listen: 127.0.0.1:{mqtt}\n"));
        var env = ContainerEnvironment.Of(rendered, container, secrets: secrets).ToDictionary(e => e.Key, e => e.Value);
        var process = CliProcess.Start(Tool.Require("nats-server"), ["--config", config], env);
        return await ListeningAsync(process, new Dictionary<int, int> { [4222] = nats, [1883] = mqtt }, workload.Name);
    }

    private static (Workload, V1Container, PodSandbox) Prepare(string root, Rendered rendered, string name,
        IReadOnlyDictionary<string, V1Secret> secrets)
    {
        var workload = rendered.Workload(name);
        var container = workload.Pod.Containers.Single();
        var sandbox = new PodSandbox(root, rendered, workload, container, secrets, new Dictionary<string, string>());
        return (workload, container, sandbox);
    }

    /// <summary>
    /// Replaces lines of a configuration file, each of which must be there; with a sandbox, also maps its mount paths
    /// to host folders.
    /// </summary>
    internal static void Rewrite(string file, PodSandbox? sandbox, params (string From, string To)[] replacements)
    {
        var text = File.ReadAllText(file);
        if (sandbox is not null) text = sandbox.MapText(text);
        foreach (var (from, to) in replacements)
        {
            if (!text.Contains(from, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"{Path.GetFileName(file)} has no '{from.Trim()}' line.");
            }
            text = text.Replace(from, to, StringComparison.Ordinal);
        }
        File.WriteAllText(file, text);
    }

    private static async Task<RenderedBroker> ListeningAsync(CliProcess process, Dictionary<int, int> ports,
        string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        foreach (var port in ports.Values)
        {
            while (true)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(50);
                }
                catch (SocketException)
                {
                    var output = $"{process.StandardError}\n{string.Join('\n', process.OutputSoFar)}";
                    await process.DisposeAsync();
                    throw new InvalidOperationException(
                        $"{name} did not start from the rendered configuration:\n{output}");
                }
            }
        }
        return new RenderedBroker(process, ports);
    }

    /// <summary>
    /// What the broker refused so far: mosquitto's "Denied …" and nats-server's "… Violation" log lines.
    /// </summary>
    public IReadOnlyList<string> Refusals() =>
        [.. Process.OutputSoFar.Concat(Process.StandardError.Split('\n'))
            .Where(l => l.Contains("Denied ", StringComparison.Ordinal) ||
                l.Contains(" Violation", StringComparison.Ordinal))];

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
