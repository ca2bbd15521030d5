using System.Text.RegularExpressions;
using EdgeEvents.Manifests.Tests.Infrastructure;
using k8s.Models;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// Credentials never live in the repository: the deployables only refer to Secrets, which manifests/secrets generates
/// from untracked local files; and it generates exactly the Secrets and keys the workloads mount.
/// </summary>
public sealed partial class Secrets_Tests : IDisposable
{
    private static readonly string SecretsDir = Path.Combine(Repository.Manifests, "secrets");
    private readonly string _dir = Directory.CreateTempSubdirectory("secrets-").FullName;

    public static TheoryData<string> Deployables => Rendered.DeployableData;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Deployables_ship_no_Secret_and_no_credential_in_configuration(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        Assert.Empty(rendered.All<V1Secret>());
        var problems = new List<string>();
        foreach (var map in rendered.All<V1ConfigMap>())
        {
            foreach (var (key, value) in map.Data ?? new Dictionary<string, string>())
            {
                if (CredentialName().IsMatch(key))
                    problems.Add($"ConfigMap/{map.Metadata.Name}: key {key} holds a credential");
                foreach (Match m in CredentialAssignment().Matches(value))
                {
                    if (!m.Groups["value"].Value.StartsWith('$'))
                    {
                        problems.Add(
                            $"ConfigMap/{map.Metadata.Name}/{key}: '{m.Value.Trim()}' is a literal credential");
                    }
                }
            }
        }
        foreach (var (w, c) in rendered.Containers)
        {
            foreach (var env in c.Env ?? [])
            {
                if (env.Value is not null && CredentialName().IsMatch(env.Name))
                    problems.Add($"{w}/{c.Name}: env {env.Name} has a literal value");
            }
        }
        Expect.NoProblems(problems);
    }

    [RequiresFact("kubectl", "mosquitto_passwd")]
    public void Secrets_kustomization_generates_every_Secret_key_the_workloads_mount_from_local_files()
    {
        var secrets = GeneratedSecrets.Create(_dir).Secrets;

        Assert.All(secrets.Values, s => Assert.Equal("edgeevents", s.Metadata.NamespaceProperty));
        var problems = new List<string>();
        foreach (var overlay in Rendered.Deployables)
        {
            var rendered = Rendered.Of(overlay);
            foreach (var w in rendered.Workloads)
            {
                foreach (var (name, key) in SecretReferences(w.Pod))
                {
                    if (!secrets.TryGetValue(name, out var secret))
                        problems.Add($"{overlay}: {w} mounts Secret {name}, which manifests/secrets does not make");
                    else if (key is not null && secret.Data?.ContainsKey(key) != true)
                        problems.Add($"{overlay}: {w} mounts key {key} of Secret {name}, which has no such key");
                }
            }
        }
        Expect.NoProblems(problems);
    }

    [RequiresFact("kubectl", "mosquitto_passwd")]
    public void Generator_makes_a_password_and_a_salted_hash_for_every_broker_user_the_policy_names()
    {
        var generated = GeneratedSecrets.Create(_dir);

        var passwords = File.ReadAllLines(generated.LocalFile("passwords.env"))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);
        var passwd = File.ReadAllText(generated.LocalFile("mosquitto.passwd"));

        // Every user the shipped ACL and NATS authorization block grant (nats-server needs all their passwords).
        Assert.Equal(BrokerPolicy.Users.Order(StringComparer.Ordinal), passwords.Keys.Order(StringComparer.Ordinal));
        // 32 letters and digits starting with a letter: nats-server parses the environment value as a configuration
        // token, and one starting with a digit would be read as a number.
        Assert.All(passwords.Values, p => Assert.Matches("^[A-Za-z][A-Za-z0-9]{31}$", p));
        Assert.Equal(passwords.Count, passwords.Values.Distinct().Count());
        Assert.All(passwords.Values, p => Assert.DoesNotContain(p, passwd, StringComparison.Ordinal));
        var users = passwd.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':', 2)).ToList();
        Assert.Equal(passwords.Keys, users.Select(u => u[0]));
        Assert.All(users, u => Assert.StartsWith("$7$", u[1], StringComparison.Ordinal));
        Assert.Equal(passwords.Count, generated.Secrets["edgeevents-broker-credentials"].Data.Count);
        // Running it again must not silently replace credentials a device already uses.
        var again = Tool.Run("/bin/bash", [Path.Combine(generated.Folder, "generate-local.sh")]);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already holds credentials", again.Stderr, StringComparison.Ordinal);
    }

    [RequiresFact("kubectl", "mosquitto_passwd")]
    public void Generator_takes_other_camera_ids_and_refuses_names_that_are_not_topic_levels()
    {
        var credentials = GeneratedSecrets.Create(Path.Combine(_dir, "a"), "cam7", "detector")
            .Secrets["edgeevents-broker-credentials"];
        Assert.Equal(["cam7", "detector"], credentials.Data.Keys.Order(StringComparer.Ordinal));
        var bad = Assert.Throws<InvalidOperationException>(
            () => GeneratedSecrets.Create(Path.Combine(_dir, "b"), "cam/1"));
        Assert.Contains("must be letters, digits", bad.Message, StringComparison.Ordinal);
    }

    [RequiresFact("git")]
    public void Generated_credentials_are_ignored_by_git()
    {
        foreach (var file in new[] { "passwords.env", "mosquitto.passwd" })
        {
            var check = Tool.Run(Tool.Require("git"),
                ["check-ignore", "-q", Path.Combine("manifests", "secrets", "local", file)]);
            Assert.True(check.ExitCode == 0, $"manifests/secrets/local/{file} is not ignored by git");
        }
    }

    [RequiresFact("shellcheck")]
    public void Generator_script_is_shellcheck_clean()
    {
        var result = Tool.Run(Tool.Require("shellcheck"), [Path.Combine(SecretsDir, "generate-local.sh")]);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }

    /// <summary>The Secrets (and keys, when only some are used) a pod reads.</summary>
    private static IEnumerable<(string Name, string? Key)> SecretReferences(V1PodSpec pod)
    {
        foreach (var volume in pod.Volumes ?? [])
        {
            if (volume.Secret is { } s)
            {
                if (s.Items is null or { Count: 0 }) yield return (s.SecretName, null);
                foreach (var item in s.Items ?? []) yield return (s.SecretName, item.Key);
            }
            foreach (var source in volume.Projected?.Sources ?? [])
            {
                if (source.Secret is { } ps)
                {
                    if (ps.Items is null or { Count: 0 }) yield return (ps.Name, null);
                    foreach (var item in ps.Items ?? []) yield return (ps.Name, item.Key);
                }
            }
        }
        foreach (var c in pod.Containers)
        {
            foreach (var from in c.EnvFrom ?? [])
            {
                if (from.SecretRef is { } r) yield return (r.Name, null);
            }
            foreach (var env in c.Env ?? [])
            {
                if (env.ValueFrom?.SecretKeyRef is { } k) yield return (k.Name, k.Key);
            }
        }
    }

    // A configuration key naming a credential itself (a *File key names where one is, which is fine).
    [GeneratedRegex(@"(password|passwd|secret|token|apikey|api_key|credential)(?!.*file)", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialName();

    // `password: value` or `password = value` inside a config file (nats.conf and its authorization block); a
    // `$VARIABLE` value is read from the environment (a Secret), which is fine.
    [GeneratedRegex(@"\b(password|token|secret)\b\s*[:=]\s*""?(?<value>[^\s,}""]+)", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialAssignment();
}
