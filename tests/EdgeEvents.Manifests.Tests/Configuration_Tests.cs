using EdgeEvents.Manifests.Tests.Infrastructure;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Scene;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The configuration the manifests give each worker is configuration that worker reads: every key binds to a property
/// of the real options records (unknown keys fail, as they do at start-up), and the values pass their validation.
/// </summary>
public sealed class Configuration_Tests
{
    public static TheoryData<string> Deployables => Rendered.DeployableData;

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Every_configuration_key_binds_to_the_options_its_worker_reads(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        var problems = new List<string>();
        foreach (var (w, c) in rendered.Containers.Where(x => PodFacts.IsEdgeEvents(x.Container)))
        {
            // Every pod of the workload, since a StatefulSet's configuration may depend on the pod's ordinal.
            for (var ordinal = 0; ordinal < Math.Max(1, w.Replicas); ordinal++)
            {
                var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, c, ordinal));
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(keys).Build();
                problems.AddRange(WorkerOptions.Problems(configuration, PodFacts.Role(c))
                    .Select(p => $"{w}/{c.Name} pod {ordinal}: {p}"));
            }
        }
        Expect.NoProblems(problems);
    }

    [Fact]
    public void The_binding_check_rejects_a_misspelt_key_a_bad_value_another_roles_section_and_a_list_for_a_value()
    {
        var misspelt = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Transport:Brokr"] = "mqtt://broker:1883" })
            .Build();
        var badValue = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Transport:KeepAlive"] = "soon" })
            .Build();
        var otherRole = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Broker:Port"] = "1883" })
            .Build();
        // A list where the option is one value (e.g. Detector:Providers:0 for the comma-separated Providers), whether
        // the property has a default or is null.
        var listForAValue = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Transport:Prefix:0"] = "edge" })
            .Build();
        var listForANull = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Transport:ClientId:0"] = "x" })
            .Build();

        Assert.Contains("Brokr", Assert.Single(WorkerOptions.Problems(misspelt, "scene")), StringComparison.Ordinal);
        Assert.Contains("KeepAlive", Assert.Single(WorkerOptions.Problems(badValue, "scene")),
            StringComparison.Ordinal);
        Assert.Contains("not read by the scene command", Assert.Single(WorkerOptions.Problems(otherRole, "scene")),
            StringComparison.Ordinal);
        Assert.Empty(WorkerOptions.Problems(otherRole, "broker"));
        Assert.Contains("instance of System.String: '0'", Assert.Single(WorkerOptions.Problems(listForAValue, "scene")),
            StringComparison.Ordinal);
        Assert.Single(WorkerOptions.Problems(listForANull, "scene"));
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Scene_pods_split_the_cameras_into_one_distinct_partition_each(string overlay)
    {
        var rendered = Rendered.Of(overlay);
        var scene = rendered.Workload("scene");
        var container = scene.Pod.Containers.Single(c => PodFacts.Role(c) == "scene");

        // A StatefulSet: at most one pod per ordinal, so each partition has exactly one owner even during a rollout.
        Assert.Equal("StatefulSet", scene.Kind);
        var partitions = Enumerable.Range(0, scene.Replicas).Select(ordinal =>
        {
            var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, container, ordinal));
            var options = new ConfigurationBuilder().AddInMemoryCollection(keys).Build()
                .GetSection(SceneOptions.Section)
                .Get<SceneOptions>()!;
            return options.ParsePartition();
        }).ToList();
        Assert.Equal(Enumerable.Range(0, scene.Replicas).Select(i => new CameraPartition(i, scene.Replicas)),
            partitions);
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Workers_that_keep_a_persistent_session_have_one_stable_client_id(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        // The LLM worker's session holds questions asked while it is down: one pod at a time, same id after restarts.
        var llm = rendered.Single<V1Deployment>("llm");
        var llmContainer = llm.Spec.Template.Spec.Containers.Single();
        var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, llmContainer));
        Assert.Equal(1, llm.Spec.Replicas);
        Assert.Equal("Recreate", llm.Spec.Strategy.Type);
        Assert.False(string.IsNullOrEmpty(keys.GetValueOrDefault("Transport:ClientId")));
        // Replicated workers must not share a fixed id (the broker would disconnect one for the other): they default to
        // component + host name, i.e. the pod name, stable for StatefulSet pods.
        foreach (var w in rendered.Workloads.Where(w => w.Name != "llm"))
        {
            foreach (var c in w.Pod.Containers.Where(PodFacts.IsEdgeEvents))
            {
                var workerKeys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, c));
                Assert.False(workerKeys.ContainsKey("Transport:ClientId"), $"{w} fixes its client id");
            }
        }
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Workers_reach_the_broker_through_its_Service(string overlay)
    {
        var rendered = Rendered.Of(overlay);
        var broker = rendered.Single<V1Service>("broker");

        foreach (var (w, c) in rendered.Containers.Where(x => PodFacts.IsEdgeEvents(x.Container)))
        {
            var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, c));
            var url = new Uri(keys["Transport:Broker"]!);
            Assert.Equal("broker", url.Host);
            Assert.Contains(broker.Spec.Ports, p => p.Port == url.Port);
        }
    }

    [RequiresTheory("kubectl")]
    [MemberData(nameof(Deployables))]
    public void Each_worker_logs_in_as_a_broker_user_of_its_role_with_that_users_password(string overlay)
    {
        var rendered = Rendered.Of(overlay);

        var problems = new List<string>();
        foreach (var (w, c) in rendered.Containers.Where(x => PodFacts.IsEdgeEvents(x.Container)))
        {
            var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, c));
            var user = keys.GetValueOrDefault("Transport:Username");
            var role = PodFacts.Role(c);
            if (user is null || BrokerPolicy.Roles.GetValueOrDefault(user) != role)
            {
                problems.Add($"{w}: user '{user}' is not a {role} in broker-users.json");
                continue;
            }
            // The password file is the Secret key named after the user.
            var file = keys.GetValueOrDefault("Transport:PasswordFile") ?? "";
            var mount = PodFacts.MountHolding(c, file);
            var secret = w.Pod.Volumes?.SingleOrDefault(v => v.Name == mount?.Name)?.Secret;
            var item = secret?.Items?.SingleOrDefault(i => mount!.MountPath.TrimEnd('/') + "/" + i.Path == file);
            if (item?.Key != user)
                problems.Add($"{w}: {file} holds Secret key '{item?.Key}', not the password of '{user}'");
            // A camera may publish only edge/frames/{its user name}.
            if (role == "camera" && keys.GetValueOrDefault("Camera:Id") != user)
                problems.Add($"{w}: camera id '{keys.GetValueOrDefault("Camera:Id")}' is not its user name '{user}'");
        }
        Expect.NoProblems(problems);
    }
}
