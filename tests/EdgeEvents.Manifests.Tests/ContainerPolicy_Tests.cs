using System.Text.RegularExpressions;
using EdgeEvents.Manifests.Tests.Infrastructure;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The rules every container follows, checked on every rendered overlay (and on the hand-applied tools): probes on
/// the served health endpoints, requests and limits, OpenShift restricted-v2, pinned images, writable paths on volumes.
/// </summary>
public sealed partial class ContainerPolicy_Tests
{
    public static TheoryData<string> Deployables => Rendered.DeployableData;

    public static TheoryData<string> DeployablesAndTools => [.. Rendered.Deployables, "tools"];

    private static Rendered Load(string target) => target == "tools" ? Rendered.Tools : Rendered.Of(target);

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Every_container_has_startup_liveness_and_readiness_probes_on_its_served_health_port(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        var problems = new List<string>();
        foreach (var (w, c) in rendered.Containers)
        {
            var probes = new (string Kind, V1Probe? Probe, string Path)[]
            {
                ("startup", c.StartupProbe, "/healthz"),
                ("liveness", c.LivenessProbe, "/healthz"),
                ("readiness", c.ReadinessProbe, "/readyz"),
            };
            if (PodFacts.IsEdgeEvents(c))
            {
                // The port edge-events serves /healthz and /readyz on is Health:Port from its configuration.
                var config = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, c));
                var healthPort = int.TryParse(config.GetValueOrDefault("Health:Port"), out var p) ? p : 0;
                if (healthPort <= 0)
                    problems.Add($"{w}/{c.Name}: Health:Port is not set, so nothing serves the probes");
                // The listener binds 127.0.0.1 unless told otherwise: the kubelet probes the pod IP.
                if (config.GetValueOrDefault("Health:BindAddress") != "0.0.0.0")
                {
                    problems.Add($"{w}/{c.Name}: Health:BindAddress is not 0.0.0.0, " +
                        "so the probes cannot reach the health listener");
                }
                foreach (var (kind, probe, path) in probes)
                {
                    if (probe?.HttpGet is not { } get)
                    {
                        problems.Add($"{w}/{c.Name}: no HTTP {kind} probe");
                        continue;
                    }
                    if (get.Path != path)
                        problems.Add($"{w}/{c.Name}: {kind} probe asks {get.Path}, the served path is {path}");
                    if (PodFacts.ResolvePort(c, get.Port) != healthPort)
                    {
                        problems.Add($"{w}/{c.Name}: {kind} probe port {get.Port.Value} " +
                            $"is not the health port {healthPort}");
                    }
                    if (get.Scheme is not (null or "HTTP"))
                        problems.Add($"{w}/{c.Name}: {kind} probe uses {get.Scheme}; the health port serves HTTP");
                }
            }
            else
            {
                // Third-party brokers: their own health endpoint or their listener, on a port the container declares.
                foreach (var (kind, probe, _) in probes)
                {
                    if (probe is null) { problems.Add($"{w}/{c.Name}: no {kind} probe"); continue; }
                    var port = probe.HttpGet?.Port ?? probe.TcpSocket?.Port;
                    if (probe.Exec is null && (port is null || PodFacts.ResolvePort(c, port) is null))
                        problems.Add($"{w}/{c.Name}: {kind} probe port {port?.Value} is not a declared container port");
                }
            }
        }
        Expect.NoProblems(problems);
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(DeployablesAndTools))]
    public void Every_container_requests_and_limits_cpu_and_memory(string target)
    {
        var rendered = Load(target);

        var problems = new List<string>();
        foreach (var (w, c) in rendered.Containers)
        {
            var requests = c.Resources?.Requests ?? new Dictionary<string, ResourceQuantity>();
            var limits = c.Resources?.Limits ?? new Dictionary<string, ResourceQuantity>();
            foreach (var resource in new[] { "cpu", "memory" })
            {
                if (!requests.TryGetValue(resource, out var request))
                    problems.Add($"{w}/{c.Name}: no {resource} request");
                else if (!limits.TryGetValue(resource, out var limit))
                    problems.Add($"{w}/{c.Name}: no {resource} limit");
                else if (request.ToDecimal() > limit.ToDecimal())
                    problems.Add($"{w}/{c.Name}: {resource} request {request} exceeds limit {limit}");
            }
        }
        Expect.NoProblems(problems);
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(DeployablesAndTools))]
    public void Every_container_runs_under_the_OpenShift_restricted_v2_security_context(string target)
    {
        var rendered = Load(target);

        var problems = new List<string>();
        foreach (var (w, c) in rendered.Containers)
        {
            var pod = w.Pod.SecurityContext;
            var sc = c.SecurityContext;
            void Require(bool ok, string what) { if (!ok) problems.Add($"{w}/{c.Name}: {what}"); }
            Require((sc?.RunAsNonRoot ?? pod?.RunAsNonRoot) == true, "runAsNonRoot is not true");
            // restricted-v2 assigns the UID (and fsGroup) from the namespace's range; a fixed one is refused.
            Require(sc?.RunAsUser is null && pod?.RunAsUser is null, "fixes runAsUser");
            Require(pod?.FsGroup is null, "fixes fsGroup");
            Require(sc?.AllowPrivilegeEscalation == false, "allowPrivilegeEscalation is not false");
            Require(sc?.Privileged != true, "is privileged");
            Require(sc?.Capabilities?.Drop?.Contains("ALL") == true, "does not drop ALL capabilities");
            Require(sc?.Capabilities?.Add is null or { Count: 0 }, "adds capabilities");
            Require((sc?.SeccompProfile ?? pod?.SeccompProfile)?.Type == "RuntimeDefault",
                "seccomp profile is not RuntimeDefault");
            Require(sc?.ReadOnlyRootFilesystem == true, "root filesystem is writable");
            Require(w.Pod.HostNetwork != true && w.Pod.HostPID != true && w.Pod.HostIPC != true,
                "shares a host namespace");
            Require(w.Pod.Volumes?.All(v => v.HostPath is null) != false, "mounts a host path");
            Require(c.Ports?.All(p => p.HostPort is null) != false, "binds a host port");
        }
        Expect.NoProblems(problems);
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(DeployablesAndTools))]
    public void Every_image_is_pinned_to_a_version_tag_or_a_digest(string target)
    {
        var rendered = Load(target);

        var unpinned = rendered.Containers
            .Where(x => !Pinned().IsMatch(x.Container.Image) ||
                x.Container.Image.EndsWith(":latest", StringComparison.Ordinal))
            .Select(x => $"{x.Workload}/{x.Container.Name}: {x.Container.Image}")
            .ToList();
        Assert.Empty(unpinned);
        // Pinned images never change under a tag, and an edge device may boot without its registry.
        Assert.All(rendered.Containers, x => Assert.Equal("IfNotPresent", x.Container.ImagePullPolicy));
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Every_path_in_the_configuration_lies_on_a_mounted_volume_and_writable_ones_on_writable_volumes(
        string overlay)
    {
        var rendered = Rendered.Of(overlay);

        var problems = new List<string>();
        foreach (var (w, c) in rendered.Containers.Where(x => PodFacts.IsEdgeEvents(x.Container)))
        {
            var config = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, c));
            foreach (var (key, value) in config)
            {
                if (value is null || !value.StartsWith('/')) continue;
                var mount = PodFacts.MountHolding(c, value);
                if (mount is null)
                {
                    problems.Add($"{w}/{c.Name}: {key}={value} is on the read-only root filesystem");
                    continue;
                }
                var volume = w.Pod.Volumes?.SingleOrDefault(v => v.Name == mount.Name);
                if (key.Contains("Outbox", StringComparison.OrdinalIgnoreCase) && mount.ReadOnlyProperty == true)
                {
                    problems.Add($"{w}/{c.Name}: {key}={value} must be writable " +
                        $"but {mount.MountPath} is mounted read-only");
                }
                if (key.EndsWith("PasswordFile", StringComparison.OrdinalIgnoreCase) && volume?.Secret is null)
                    problems.Add($"{w}/{c.Name}: {key}={value} is not on a Secret volume");
            }
            // .NET writes its diagnostics sockets and temporary files to /tmp.
            if (PodFacts.MountHolding(c, "/tmp") is not { ReadOnlyProperty: not true })
                problems.Add($"{w}/{c.Name}: /tmp is not a writable volume");
        }
        Expect.NoProblems(problems);
    }

    // registry/name:tag with a digit in the tag (a version), or name@sha256:digest.
    [GeneratedRegex(@"^[^\s:@]+(?::\d+)?/[^\s:@]+(:[\w][\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64})$")]
    private static partial Regex Pinned();
}
