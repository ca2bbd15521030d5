using EdgeEvents.Testing;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// Debian's podman as it works on the CI machines (../shared/PLATFORM.md, "Containers"): as root, with runc and
/// cgroupfs (crun refuses the hybrid cgroup layout) and a containers.conf without default ulimits (RLIMIT_NPROC cannot
/// be set there).
/// </summary>
public static class Podman
{
    private static readonly string[] GlobalArgs = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"];

    /// <summary>
    /// This process's environment plus <c>CONTAINERS_CONF</c>, for podman and the scripts that call it.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Environment { get; } = MakeEnvironment();

    /// <summary>Runs <c>podman args…</c> to completion.</summary>
    public static Tool.Result Run(IEnumerable<string> args, TimeSpan? limit = null) =>
        Tool.Run(Tool.Require("podman"), [.. GlobalArgs, .. args], environment: Environment, limit: limit);

    /// <summary>Runs <c>podman args…</c>; a non-zero exit fails with podman's output.</summary>
    public static string Require(IEnumerable<string> args, TimeSpan? limit = null)
    {
        var list = args.ToList();
        var result = Run(list, limit);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"podman {string.Join(' ', list)} failed ({result.ExitCode}):\n{result.Stdout}\n{result.Stderr}");
        }
        return result.Stdout;
    }

    public static bool ImageExists(string image) => Run(["image", "exists", image]).ExitCode == 0;

    /// <summary>The image's size in bytes, as <c>podman images</c> reports it (uncompressed, all layers).</summary>
    public static long ImageSize(string image) =>
        long.Parse(Require(["image", "inspect", "--format", "{{.Size}}", image]).Trim(),
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Starts <c>podman args…</c> as a child process whose output is collected (e.g. a foreground <c>podman run</c>).
    /// </summary>
    public static CliProcess Start(IEnumerable<string> args) =>
        CliProcess.Start(Tool.Require("podman"), [.. GlobalArgs, .. args],
            Environment.ToDictionary(e => e.Key, e => e.Value));

    private static Dictionary<string, string> MakeEnvironment()
    {
        var conf = Path.Combine(Path.GetTempPath(), "edgeevents-podman-containers.conf");
        File.WriteAllText(conf, "[containers]\ndefault_ulimits = []\n");
        var env = System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        env["CONTAINERS_CONF"] = conf;
        return env;
    }
}
