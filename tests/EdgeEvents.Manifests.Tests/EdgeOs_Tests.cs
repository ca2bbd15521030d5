using System.Text.RegularExpressions;
using EdgeEvents.Manifests.Tests.Infrastructure;
using k8s;
using k8s.Models;
using Tomlyn;
using Tomlyn.Model;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The edge OS image files in manifests/os, checked offline (their base images and MicroShift's repositories are not
/// reachable here): the image-builder blueprint parses and has what the blueprint format requires, it and the bootc
/// Containerfile carry the same packages, services, firewall rules, folders and files, the manifests they carry are
/// what the MicroShift entry point renders, and the greenboot check they install is the tested script.
/// </summary>
public sealed partial class EdgeOs_Tests : IDisposable
{
    private static readonly string Os = Path.Combine(Repository.Manifests, "os");
    private static readonly string Greenboot =
        Path.Combine(Repository.Manifests, "greenboot", "40-edgeevents-ready.sh");
    private const string GreenbootTarget = "/etc/greenboot/check/required.d/40-edgeevents-ready.sh";

    private static readonly TomlTable Blueprint =
        TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(Path.Combine(Os, "blueprint.toml")))!;
    private static readonly string Containerfile = File.ReadAllText(Path.Combine(Os, "Containerfile"));

    private readonly string _dir = Directory.CreateTempSubdirectory("edge-os-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Blueprint_has_what_the_blueprint_format_requires()
    {
        var problems = new List<string>();
        var known = new[]
        {
            "name", "description", "version", "distro", "packages", "modules", "groups", "containers", "customizations"
        };
        problems.AddRange(Blueprint.Keys.Except(known).Select(k => $"unknown top-level key '{k}'"));
        if (Blueprint["name"] is not string name || !Regex.IsMatch(name, "^[A-Za-z0-9._-]+$"))
            problems.Add("name must be a plain word");
        if (Blueprint["description"] is not string { Length: > 0 }) problems.Add("description missing");
        if (Blueprint["version"] is not string version || !Regex.IsMatch(version, @"^\d+\.\d+\.\d+$"))
            problems.Add("version must be semver");
        foreach (var package in Tables("packages"))
        {
            if (package["name"] is not string { Length: > 0 } || package["version"] is not string)
                problems.Add($"package without name/version: {string.Join(",", package.Keys)}");
        }
        problems.AddRange(FirewallPorts()
            .Where(p => !Regex.IsMatch(p, @"^\d+(-\d+)?:(tcp|udp)$"))
            .Select(p => $"firewall port '{p}' is not port:protocol"));
        foreach (var file in Tables("customizations", "files"))
        {
            if (file["path"] is not string path || !path.StartsWith("/etc/", StringComparison.Ordinal))
                problems.Add($"file path '{file["path"]}' is not under /etc (blueprints may write only there)");
            if (file["mode"] is not string mode || !Regex.IsMatch(mode, "^0[0-7]{3}$"))
                problems.Add($"file {file["path"]}: mode must be an octal string");
            if (file["data"] is not string) problems.Add($"file {file["path"]}: no data");
        }
        foreach (var directory in Tables("customizations", "directories"))
            if (directory["path"] is not string { Length: > 0 }) problems.Add("directory without path");

        Expect.NoProblems(problems);
        Assert.Contains("microshift", Tables("packages").Select(p => (string)p["name"]));
        Assert.Contains("microshift", Strings(Table("customizations", "services")["enabled"]));
    }

    [RequiresFact("kubectl")]
    public void Blueprint_embeds_the_rendered_manifests_and_the_tested_greenboot_check()
    {
        var files = Tables("customizations", "files").ToDictionary(f => (string)f["path"], f => f);
        const string ManifestsD = "/etc/microshift/manifests.d/edgeevents/";
        var kustomizationYaml = (string)files[ManifestsD + "kustomization.yaml"]["data"];
        var kustomization = KubernetesYaml.Deserialize<Dictionary<string, object>>(kustomizationYaml);
        var resources = ((List<object>)kustomization["resources"]).Cast<string>().ToList();

        Assert.Equal(Rendered.Of(".").Yaml, files[ManifestsD + "edgeevents.yaml"]["data"]);
        Assert.Equal(File.ReadAllText(Path.Combine(Os, "volumes.yaml")), files[ManifestsD + "volumes.yaml"]["data"]);
        Assert.All(resources, r => Assert.Contains(ManifestsD + r, files.Keys));
        Assert.Equal(File.ReadAllText(Greenboot), files[GreenbootTarget]["data"]);
        Assert.Equal("0755", files[GreenbootTarget]["mode"]);
    }

    [RequiresFact("kubectl")]
    public void Render_script_reproduces_the_committed_os_files()
    {
        var result = Tool.Run("/bin/bash", [Path.Combine(Os, "render.sh"), _dir]);
        Assert.True(result.ExitCode == 0, $"render.sh failed ({result.ExitCode}):\n{result.Stderr}");

        var rendered = Directory.GetFiles(_dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_dir, f))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(["blueprint.toml", "manifests.d/edgeevents/edgeevents.yaml",
            "manifests.d/edgeevents/kustomization.yaml", "manifests.d/edgeevents/volumes.yaml"], rendered);
        Assert.All(rendered, f => Assert.True(
            File.ReadAllText(Path.Combine(_dir, f)) == File.ReadAllText(Path.Combine(Os, f)),
            $"manifests/os/{f} is not what manifests/os/render.sh renders now: run it and commit the result"));
    }

    [Fact]
    public void Bootc_image_carries_what_the_blueprint_carries()
    {
        var installed = Regex.Match(Containerfile, @"dnf install -y (?<p>[^\\&\n]+)").Groups["p"].Value
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var enabled = Regex.Match(Containerfile, @"systemctl enable (?<s>[^\\&\n]+)").Groups["s"].Value
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ports = Regex.Matches(Containerfile, @"--add-port=(?<port>\d+)/(?<proto>\w+)")
            .Select(m => $"{m.Groups["port"]}:{m.Groups["proto"]}");
        var trusted = Regex.Matches(Containerfile, @"--zone=trusted --add-source=(?<s>\S+)")
            .Select(m => m.Groups["s"].Value);
        var folders = Regex.Matches(Containerfile, @"'d (?<path>/\S+) ").Select(m => m.Groups["path"].Value);

        Assert.Equal(Tables("packages").Select(p => (string)p["name"]).Order(), installed.Order());
        Assert.Equal(Strings(Table("customizations", "services")["enabled"]).Order(), enabled.Order());
        Assert.Equal(FirewallPorts().Order(), ports.Order());
        var trustedZone = Tables("customizations", "firewall", "zones").Single(z => (string)z["name"] == "trusted");
        Assert.Equal(Strings(trustedZone["sources"]).Order(), trusted.Order());
        Assert.Equal(Tables("customizations", "directories").Select(d => (string)d["path"]).Order(), folders.Order());
        // The same files: the rendered folder into MicroShift's manifests.d, the tested greenboot script as the check.
        Assert.Contains("COPY os/manifests.d/edgeevents/ /usr/lib/microshift/manifests.d/edgeevents/", Containerfile,
            StringComparison.Ordinal);
        Assert.Contains($"COPY --chmod=0755 greenboot/40-edgeevents-ready.sh {GreenbootTarget}", Containerfile,
            StringComparison.Ordinal);
        Assert.Matches(@"(?m)^ARG BOOTC_IMAGE=\S+:\d+\.\d+$", Containerfile);
    }

    [RequiresFact("kubectl")]
    public void Os_volumes_bind_claims_the_pods_mount_to_the_folders_the_image_makes()
    {
        var volumes = KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(Os, "volumes.yaml")), strict: true)
            .Cast<V1PersistentVolume>()
            .ToList();
        var claims = Rendered.Of(".").All<V1PersistentVolumeClaim>()
            .Select(c => (c.Metadata.NamespaceProperty, c.Metadata.Name))
            .ToHashSet();
        var folders = Tables("customizations", "directories").Select(d => (string)d["path"]).ToHashSet();

        Assert.NotEmpty(volumes);
        Assert.All(volumes, v =>
        {
            Assert.Contains((v.Spec.ClaimRef.NamespaceProperty, v.Spec.ClaimRef.Name), claims);
            Assert.Contains(v.Spec.HostPath.Path, folders);
        });
    }

    [RequiresTheory("shellcheck")]
    [InlineData("os/render.sh")]
    [InlineData("images/debian-base.sh")]
    public void Image_scripts_are_shellcheck_clean(string script)
    {
        var result = Tool.Run(Tool.Require("shellcheck"), [Path.Combine(Repository.Manifests, script)]);
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }

    private static TomlTable Table(params string[] path) =>
        path.Aggregate(Blueprint, (table, key) => (TomlTable)table[key]);

    private static IEnumerable<TomlTable> Tables(params string[] path) =>
        (TomlTableArray)(path.Length == 1 ? Blueprint[path[0]] : Table(path[..^1])[path[^1]]);

    private static IEnumerable<string> Strings(object array) => ((TomlArray)array).Cast<string>();

    private static IEnumerable<string> FirewallPorts() => Strings(Table("customizations", "firewall")["ports"]);
}
