using k8s.Models;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// manifests/secrets copied to a temporary folder, its local credential files made by its own generate-local.sh, and
/// rendered: the Secrets a device would get, with fresh random passwords.
/// </summary>
public sealed class GeneratedSecrets
{
    public required string Folder { get; init; }
    public required IReadOnlyDictionary<string, V1Secret> Secrets { get; init; }

    /// <summary>The script's own output files (local/passwords.env, local/mosquitto.passwd).</summary>
    public string LocalFile(string name) => Path.Combine(Folder, "local", name);

    /// <param name="parent">Temporary folder the copy goes into.</param>
    /// <param name="users">Broker users to make passwords for; none: the script's defaults.</param>
    public static GeneratedSecrets Create(string parent, params string[] users)
    {
        var folder = Path.Combine(parent, "secrets");
        Directory.CreateDirectory(folder);
        foreach (var file in new[] { "kustomization.yaml", "generate-local.sh" })
            File.Copy(Path.Combine(Repository.Manifests, "secrets", file), Path.Combine(folder, file));
        var generate = Tool.Run("/bin/bash", [Path.Combine(folder, "generate-local.sh"), .. users]);
        if (generate.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"generate-local.sh failed ({generate.ExitCode}):\n{generate.Stderr}");
        }
        var secrets = Rendered.Load(folder).All<V1Secret>().ToDictionary(s => s.Metadata.Name);
        return new GeneratedSecrets { Folder = folder, Secrets = secrets };
    }
}
