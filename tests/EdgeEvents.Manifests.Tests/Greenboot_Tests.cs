using System.Globalization;
using System.Text;
using EdgeEvents.Manifests.Tests.Infrastructure;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The greenboot check run against a fake cluster: a stub <c>kubectl</c> answers from fixture objects through the real
/// kubectl's JSONPath engine (so the script's queries are exercised for real) and a stub <c>curl</c> plays /readyz.
/// </summary>
public sealed class Greenboot_Tests : IDisposable
{
    private static readonly string Script = Path.Combine(Repository.Manifests, "greenboot", "40-edgeevents-ready.sh");
    private readonly string _dir = Directory.CreateTempSubdirectory("greenboot-").FullName;

    /// <summary>
    /// A pod as the API reports it. <paramref name="HealthPort"/> null: no port named "health" (mosquitto).
    /// </summary>
    private sealed record Pod(string Name, string Ip, bool Ready, int? HealthPort = 8080, bool Deleting = false);

    private sealed record Workload(string Kind, string Name, int Replicas, int ReadyReplicas);

    private static readonly Workload[] AllReady =
    [
        new("StatefulSet", "detector", 2, 2), new("StatefulSet", "scene", 1, 1), new("StatefulSet", "mosquitto", 1, 1),
    ];

    private static readonly Pod[] ReadyPods =
    [
        new("detector-a", "10.42.0.11", true), new("detector-b", "10.42.0.12", true),
        new("scene-0", "10.42.0.13", true), new("mosquitto-0", "10.42.0.14", true, HealthPort: null),
    ];

    public Greenboot_Tests()
    {
        // kubectl: answer `get <kind> ... -o jsonpath={range .items[*]}X{end}` by running the real kubectl over the
        // fixture (call n reads <what>.<n>.yaml if present, else <what>.yaml); `label --local` prints X per object.
        var kubectl = Tool.Find("kubectl");
        WriteExecutable("kubectl", $$"""
            #!/bin/bash
            dir=$(dirname "$0")
            echo "$*" >>"$dir/kubectl.log"
            [[ -e $dir/hang ]] && exec sleep 600
            what= template=
            for arg; do
                case $arg in
                    deployments,statefulsets) what=workloads ;;
                    pods) what=pods ;;
                    jsonpath=*) template=${arg#jsonpath=} ;;
                esac
            done
            calls=$(( $(cat "$dir/$what.calls" 2>/dev/null || echo 0) + 1 ))
            echo "$calls" >"$dir/$what.calls"
            fixture=$dir/$what.$calls.yaml
            [[ -e $fixture ]] || fixture=$dir/$what.yaml
            inner=${template#'{range .items[*]}'}
            inner=${inner%'{end}'}
            exec {{kubectl}} label --local -f "$fixture" -o "jsonpath=$inner" greenboot-test=stub
            """);
        // curl: exit 22 (HTTP error) for addresses listed in curl.fail, 0 otherwise; log every URL.
        WriteExecutable("curl", """
            #!/bin/bash
            dir=$(dirname "$0")
            url=${*: -1}
            echo "$url" >>"$dir/curl.log"
            host=${url#http://}
            host=${host%%:*}
            if grep -qx "$host" "$dir/curl.fail" 2>/dev/null; then echo "curl: (22) The requested URL returned error: 503" >&2; exit 22; fi
            exit 0
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RequiresFact("kubectl")]
    public void Healthy_pipeline_passes_and_every_pod_with_a_health_port_was_asked_for_readyz()
    {
        Fixture(AllReady, ReadyPods);

        var result = Run(timeoutSeconds: 30);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(
            ["http://10.42.0.11:8080/readyz", "http://10.42.0.12:8080/readyz", "http://10.42.0.13:8080/readyz"],
            File.ReadAllLines(Path.Combine(_dir, "curl.log")));
        Assert.All(File.ReadAllLines(Path.Combine(_dir, "kubectl.log")),
            line => Assert.Contains("-n edgeevents get", line, StringComparison.Ordinal));
        Assert.All(File.ReadAllLines(Path.Combine(_dir, "kubectl.log")),
            line => Assert.Contains("-l app.kubernetes.io/part-of=edgeevents", line, StringComparison.Ordinal));
    }

    [RequiresFact("kubectl")]
    public void Pod_that_never_becomes_ready_fails_the_check_naming_it()
    {
        Fixture(
            [new("StatefulSet", "detector", 2, 1), new("StatefulSet", "scene", 1, 1)],
            [
                new("detector-a", "10.42.0.11", true),
                new("detector-b", "10.42.0.12", false),
                new("scene-0", "10.42.0.13", true),
            ]);

        var result = Run(timeoutSeconds: 2);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("StatefulSet/detector: 1/2 replicas ready", result.Stderr, StringComparison.Ordinal);
    }

    [RequiresFact("kubectl")]
    public void Pod_that_reports_ready_but_fails_readyz_fails_the_check()
    {
        Fixture(AllReady, ReadyPods);
        File.WriteAllText(Path.Combine(_dir, "curl.fail"), "10.42.0.13\n");

        var result = Run(timeoutSeconds: 2);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("pod scene-0: GET http://10.42.0.13:8080/readyz failed", result.Stderr,
            StringComparison.Ordinal);
    }

    [RequiresFact("kubectl")]
    public void Pipeline_that_becomes_ready_while_the_check_waits_passes()
    {
        // First two polls: workloads still starting; from the third on, everything is ready.
        Fixture([new("StatefulSet", "detector", 2, 0)], [new("detector-a", "10.42.0.11", false)], call: 1);
        Fixture([new("StatefulSet", "detector", 2, 1)], [new("detector-a", "10.42.0.11", true)], call: 2);
        Fixture(AllReady, ReadyPods);

        var result = Run(timeoutSeconds: 60);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("waiting: StatefulSet/detector: 0/2 replicas ready", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("3", File.ReadAllText(Path.Combine(_dir, "workloads.calls")).Trim());
    }

    [RequiresFact("kubectl")]
    public void Pods_being_deleted_during_a_rollout_are_not_waited_for()
    {
        Fixture(AllReady, [.. ReadyPods, new Pod("detector-old", "10.42.0.20", false, Deleting: true)]);

        var result = Run(timeoutSeconds: 2);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.DoesNotContain("10.42.0.20", File.ReadAllText(Path.Combine(_dir, "curl.log")), StringComparison.Ordinal);
    }

    [RequiresFact("kubectl")]
    public void Unanswering_API_server_fails_the_check_once_the_timeout_is_spent()
    {
        Fixture(AllReady, ReadyPods);
        File.WriteAllText(Path.Combine(_dir, "hang"), "");

        var result = Run(timeoutSeconds: 2);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot list workloads", result.Stderr, StringComparison.Ordinal);
    }

    [RequiresFact("kubectl")]
    public void Nothing_deployed_fails_the_check()
    {
        Fixture([], []);

        var result = Run(timeoutSeconds: 2);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no workloads with label app.kubernetes.io/part-of=edgeevents", result.Stderr,
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_timeout_that_is_not_a_number_is_a_configuration_error()
    {
        var result = Run(timeoutSeconds: 0, overrides: new() { ["EDGEEVENTS_READY_TIMEOUT"] = "10m" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'10m' is not a number of seconds", result.Stderr, StringComparison.Ordinal);
    }

    [RequiresFact("shellcheck")]
    public void Script_is_shellcheck_clean()
    {
        var result = Tool.Run(Tool.Require("shellcheck"), [Script]);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }

    private Tool.Result Run(int timeoutSeconds, Dictionary<string, string>? overrides = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = $"{_dir}:/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = _dir,
            ["EDGEEVENTS_GREENBOOT_CONF"] = Path.Combine(_dir, "absent.conf"),
            ["EDGEEVENTS_READY_TIMEOUT"] = timeoutSeconds.ToString(CultureInfo.InvariantCulture),
            ["EDGEEVENTS_READY_INTERVAL"] = "1",
            ["KUBECONFIG"] = Path.Combine(_dir, "kubeconfig"),
        };
        foreach (var (key, value) in overrides ?? []) environment[key] = value;
        return Tool.Run("/bin/bash", [Script], _dir, environment, TimeSpan.FromSeconds(timeoutSeconds + 60));
    }

    private void Fixture(IEnumerable<Workload> workloads, IEnumerable<Pod> pods, int? call = null)
    {
        var suffix = call is null ? "" : $".{call}";
        File.WriteAllText(Path.Combine(_dir, $"workloads{suffix}.yaml"), List(workloads.Select(w => $$"""
              - apiVersion: apps/v1
                kind: {{w.Kind}}
                metadata: {name: {{w.Name}}, namespace: edgeevents}
                spec: {replicas: {{w.Replicas}}}
                status: {{(w.ReadyReplicas > 0 ? $"{{readyReplicas: {w.ReadyReplicas}}}" : "{}")}}
            """)));
        File.WriteAllText(Path.Combine(_dir, $"pods{suffix}.yaml"), List(pods.Select(p =>
        {
            var deletion = p.Deleting ? ", deletionTimestamp: '2026-11-28T10:00:00Z'" : "";
            var ports = p.HealthPort is { } port
                ? $"{{name: health, containerPort: {port}}}"
                : "{name: mqtt, containerPort: 1883}";
            var ready = p.Ready ? "True" : "False";
            return $$"""
                  - apiVersion: v1
                    kind: Pod
                    metadata: {name: {{p.Name}}, namespace: edgeevents{{deletion}}}
                    spec:
                      containers: [{name: main, image: x, ports: [{{ports}}]}]
                    status:
                      podIP: {{p.Ip}}
                      conditions: [{type: PodScheduled, status: 'True'}, {type: Ready, status: '{{ready}}'}]
                """;
        })));
    }

    private static string List(IEnumerable<string> items)
    {
        var text = new StringBuilder("apiVersion: v1\nkind: List\nitems:");
        var any = false;
        foreach (var item in items) { text.Append('\n').Append(item); any = true; }
        if (!any) text.Append(" []");
        return text.Append('\n').ToString();
    }

    private void WriteExecutable(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
