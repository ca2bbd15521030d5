using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EdgeEvents.Manifests.Tests.Infrastructure;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The Containerfiles cannot be built here (no container engine), so what can be checked without building is: they
/// copy every project the CLI builds from, pin their base images, run as non-root, the runtime image carries the
/// shared frameworks the CLI needs, and they build the image names the manifests deploy.
/// </summary>
public sealed partial class Containerfile_Tests
{
    private static readonly string Images = Path.Combine(Repository.Manifests, "images");
    private static readonly string CliProject = Path.Combine(Repository.Root, "cli", "EdgeEvents.Cli", "EdgeEvents.Cli.csproj");

    public static TheoryData<string> Containerfiles =>
        [.. Directory.GetFiles(Images, "Containerfile*").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Containerfiles))]
    public void Build_stage_copies_every_project_the_cli_builds_from(string containerfile)
    {
        var lines = File.ReadAllLines(Path.Combine(Images, containerfile));
        var copied = lines
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            .Select(p => p.TrimEnd('/'))
            .ToList();

        Assert.Superset(new HashSet<string> { "global.json", "Directory.Build.props", "Directory.Packages.props" }, copied.ToHashSet());
        var missing = ProjectClosure(CliProject)
            .Select(p => Path.GetRelativePath(Repository.Root, p))
            .Where(p => !copied.Any(dir => p.StartsWith(dir + "/", StringComparison.Ordinal)))
            .ToList();
        Assert.True(missing.Count == 0, $"{containerfile} does not copy: {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Containerfiles))]
    public void Base_images_are_pinned_and_the_image_runs_edge_events_as_non_root(string containerfile)
    {
        var text = File.ReadAllText(Path.Combine(Images, containerfile));

        var images = ImageArgument().Matches(text).Select(m => m.Groups["image"].Value).ToList();
        Assert.NotEmpty(images);
        Assert.All(images, image => Assert.Matches(@":\d+\.\d+\.\d+[\w.-]*$", image));
        Assert.All(Regex.Matches(text, @"^FROM (?<ref>\S+)", RegexOptions.Multiline), m => Assert.StartsWith("${", m.Groups["ref"].Value, StringComparison.Ordinal));
        var user = Regex.Matches(text, @"^USER (?<user>\S+)", RegexOptions.Multiline).Last().Groups["user"].Value;
        Assert.DoesNotMatch(@"^(root|0)(:|$)", user);
        var assembly = XDocument.Load(CliProject).Descendants("AssemblyName").Single().Value;
        Assert.Contains($"ENTRYPOINT [\"/app/{assembly}\"]", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Runtime_image_carries_every_shared_framework_the_cli_runs_on()
    {
        var text = File.ReadAllText(Path.Combine(Images, "Containerfile"));
        var runtime = ImageArgument().Matches(text).Single(m => m.Groups["name"].Value == "RUNTIME_IMAGE").Groups["image"].Value;
        // What each official .NET image holds: aspnet ⊃ runtime ⊃ runtime-deps (none).
        var provided = runtime switch
        {
            _ when runtime.Contains("/dotnet/aspnet:", StringComparison.Ordinal) => new[] { "Microsoft.NETCore.App", "Microsoft.AspNetCore.App" },
            _ when runtime.Contains("/dotnet/runtime:", StringComparison.Ordinal) => ["Microsoft.NETCore.App"],
            _ => [],
        };

        // The CLI's runtimeconfig.json is copied beside the tests (they reference the CLI project).
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "edge-events.runtimeconfig.json")));
        var needed = config.RootElement.GetProperty("runtimeOptions").GetProperty("frameworks").EnumerateArray().Select(f => f.GetProperty("name").GetString()!);
        Assert.Subset(provided.ToHashSet(), needed.ToHashSet());
        Assert.Contains("--self-contained false", text, StringComparison.Ordinal);
    }

    [RequiresFact("kubectl")]
    public void Containerfiles_build_the_image_names_the_manifests_deploy()
    {
        var built = Directory.GetFiles(Images, "Containerfile*")
            .SelectMany(f => BuildTag().Matches(File.ReadAllText(f)).Select(m => m.Groups["tag"].Value))
            .ToHashSet();
        var deployed = Rendered.Deployables.Append("tools")
            .SelectMany(o => (o == "tools" ? Rendered.Tools : Rendered.Of(o)).Containers)
            .Where(x => PodFacts.IsEdgeEvents(x.Container))
            .Select(x => x.Container.Image)
            .ToHashSet();

        Assert.Equal(built, deployed);
    }

    [Fact]
    public void Gpu_image_selects_a_llama_backend_the_llm_project_knows()
    {
        var text = File.ReadAllText(Path.Combine(Images, "Containerfile.gpu"));
        var backend = Regex.Match(text, @"-p:LlamaBackend=(?<b>\w+)").Groups["b"].Value;
        var llm = XDocument.Load(Path.Combine(Repository.Root, "workers", "EdgeEvents.Llm", "EdgeEvents.Llm.csproj"));
        var packages = XDocument.Load(Path.Combine(Repository.Root, "Directory.Packages.props"))
            .Descendants("PackageVersion").Select(p => p.Attribute("Include")!.Value).ToHashSet();

        Assert.NotEmpty(backend);
        var reference = llm.Descendants("PackageReference")
            .SingleOrDefault(r => (r.Attribute("Condition")?.Value ?? r.Parent?.Attribute("Condition")?.Value ?? "").Contains($"== '{backend}'", StringComparison.Ordinal));
        Assert.True(reference is not null, $"EdgeEvents.Llm.csproj has no PackageReference for LlamaBackend={backend}");
        Assert.Contains(reference.Attribute("Include")!.Value, packages);
    }

    /// <summary>A project and every project it references, transitively (full paths).</summary>
    private static HashSet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current)) continue;
            foreach (var reference in XDocument.Load(current).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, include)));
            }
        }
        return seen;
    }

    [GeneratedRegex(@"^ARG (?<name>\w+_IMAGE)=(?<image>\S+)", RegexOptions.Multiline)]
    private static partial Regex ImageArgument();

    [GeneratedRegex(@"podman build -f manifests/images/Containerfile\S* -t (?<tag>\S+) \.")]
    private static partial Regex BuildTag();
}
