using System.Net.Sockets;
using EdgeEvents.Testing;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// mosquitto started as a rendered overlay's StatefulSet runs it: its command, its mosquitto.conf, the password file
/// from the generated Secret and the ACL ConfigMap, mounted as folders. Only the listener moves to a free loopback port.
/// </summary>
public static class RenderedMosquitto
{
    public static async Task<(int Port, CliProcess Process)> StartAsync(string root, Rendered rendered, IReadOnlyDictionary<string, V1Secret> secrets)
    {
        var workload = rendered.Workload("mosquitto");
        var container = workload.Pod.Containers.Single();
        var sandbox = new PodSandbox(root, rendered, workload, container, secrets, new Dictionary<string, string>());
        var port = FreePort.Next();
        var command = container.Command.Concat(container.Args ?? []).ToList();
        var config = sandbox.Map(command[command.IndexOf("-c") + 1]);
        var text = sandbox.MapText(File.ReadAllText(config));
        if (!text.Contains("listener 1883\n", StringComparison.Ordinal)) throw new InvalidOperationException("mosquitto.conf has no 'listener 1883' line.");
        File.WriteAllText(config, text.Replace("listener 1883\n", $"listener {port} 127.0.0.1\n", StringComparison.Ordinal));

        var process = CliProcess.Start(Tool.Require("mosquitto"), ["-c", config]);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return (port, process);
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        var output = $"{process.StandardError}\n{string.Join('\n', process.OutputSoFar)}";
        await process.DisposeAsync();
        throw new InvalidOperationException($"mosquitto did not start from the rendered configuration:\n{output}");
    }
}
