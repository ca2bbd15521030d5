using System.Text.Json;
using EdgeEvents.Testing;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// A container of a rendered pod run with podman as the pod spec asks: its command (as the entrypoint) and args, the
/// environment given, each volume a folder of a <see cref="PodSandbox"/> bind-mounted at its mount path (read-only
/// where the mount is), the root filesystem read-only with nothing writable beside the volumes, all capabilities
/// dropped, no privilege escalation, a non-root UID. Host networking: the test moves every listener to a free loopback
/// port.
/// </summary>
public sealed class RenderedContainer : IAsyncDisposable
{
    private RenderedContainer(string name, CliProcess process) => (Name, Process) = (name, process);

    public string Name { get; }

    /// <summary>The foreground <c>podman run</c>: its output is the container's.</summary>
    public CliProcess Process { get; }

    /// <param name="hostname">
    /// The pod's name, which Kubernetes makes its hostname (the workers derive their client ids from it).
    /// </param>
    /// <param name="image">
    /// The image to run (the rendered one, or a stand-in for an image no registry here serves).
    /// </param>
    /// <param name="user">UID:GID to run as.</param>
    public static RenderedContainer Start(string name, string hostname, string image, V1Container container,
        PodSandbox sandbox, IReadOnlyDictionary<string, string> environment, string user)
    {
        List<string> args =
        [
            "run", "--rm", "--name", name, "--hostname", hostname, "--network", "host",
            "--read-only", "--read-only-tmpfs=false", "--user", user,
            "--cap-drop", "all", "--security-opt", "no-new-privileges",
        ];
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var host = sandbox.Mounts.Single(m => m.MountPath == mount.MountPath.TrimEnd('/')).HostPath;
            args.AddRange(["--volume", $"{host}:{mount.MountPath}{(mount.ReadOnlyProperty == true ? ":ro" : "")}"]);
        }
        foreach (var (key, value) in environment) args.AddRange(["--env", $"{key}={value}"]);
        if (container.Command is { Count: > 0 } command) args.Add($"--entrypoint={JsonSerializer.Serialize(command)}");
        args.Add(image);
        args.AddRange(container.Args ?? []);
        return new RenderedContainer(name, Podman.Start(args));
    }

    /// <summary>What the container wrote so far (stdout, then stderr).</summary>
    public string Output => $"{string.Join('\n', Process.OutputSoFar)}\n{Process.StandardError}";

    public async ValueTask DisposeAsync()
    {
        // Stopping the podman client would leave the container running: remove the container itself.
        Podman.Run(["rm", "--force", "--time", "2", Name]);
        await Process.DisposeAsync();
    }
}
