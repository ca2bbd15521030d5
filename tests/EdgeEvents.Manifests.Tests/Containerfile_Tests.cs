using System.Text.RegularExpressions;
using System.Xml.Linq;
using EdgeEvents.Manifests.Tests.Infrastructure;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// What the Containerfiles promise without building them (CpuImage_Tests builds and runs the CPU image; the GPU image's
/// CUDA base is not reachable here): a build stage copies every project the CLI builds from, base images are pinned,
/// the images run edge-events as non-root, and they are the images the manifests deploy.
/// </summary>
public sealed partial class Containerfile_Tests
{
    private static readonly string Images = Path.Combine(Repository.Manifests, "images");
    private static readonly string CliProject =
        Path.Combine(Repository.Root, "cli", "EdgeEvents.Cli", "EdgeEvents.Cli.csproj");

    private static IEnumerable<string> Names =>
        Directory.GetFiles(Images, "Containerfile*").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal);

    public static TheoryData<string> Containerfiles => [.. Names];

    /// <summary>
    /// The Containerfiles that publish the CLI in a build stage (the CPU image is published on the host).
    /// </summary>
    public static TheoryData<string> BuildStageContainerfiles =>
        [
            .. Names.Where(f =>
                File.ReadAllText(Path.Combine(Images, f)).Contains(" AS build", StringComparison.Ordinal))
        ];

    [Theory]
    [MemberData(nameof(BuildStageContainerfiles))]
    public void Build_stage_copies_every_project_the_cli_builds_from(string containerfile)
    {
        var lines = File.ReadAllLines(Path.Combine(Images, containerfile));
        var copied = lines
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) &&
                !l.Contains("--from", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            .Select(p => p.TrimEnd('/'))
            .ToList();

        Assert.Superset(new HashSet<string> { "global.json", "Directory.Build.props", "Directory.Packages.props" },
            copied.ToHashSet());
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
        // A version, or a Debian release's slim tag (which follows the release's security updates).
        Assert.All(images, image => Assert.Matches(@":(\d+\.\d+\.\d+[\w.-]*|[a-z]+-slim)$", image));
        Assert.All(Regex.Matches(text, @"^FROM (?<ref>\S+)", RegexOptions.Multiline),
            m => Assert.StartsWith("${", m.Groups["ref"].Value, StringComparison.Ordinal));
        var user = Regex.Matches(text, @"^USER (?<user>\S+)", RegexOptions.Multiline).Last().Groups["user"].Value;
        Assert.DoesNotMatch(@"^(root|0)(:|$)", user);
        var assembly = XDocument.Load(CliProject).Descendants("AssemblyName").Single().Value;
        Assert.Contains($"ENTRYPOINT [\"/app/{assembly}\"]", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_image_runs_as_a_fixed_non_root_uid_in_group_0()
    {
        var text = File.ReadAllText(Path.Combine(Images, "Containerfile"));
        var user = Regex.Matches(text, @"^USER (?<user>\S+)", RegexOptions.Multiline).Last().Groups["user"].Value;

        // Numeric, so runAsNonRoot can verify it without a passwd lookup; group 0, as OpenShift's arbitrary UIDs get.
        Assert.Matches(@"^[1-9]\d*:0$", user);
        Assert.Contains("chgrp 0 /models /data", text, StringComparison.Ordinal);
        Assert.Contains("chmod g=u /models /data", text, StringComparison.Ordinal);
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
            .SingleOrDefault(r => (r.Attribute("Condition")?.Value ?? r.Parent?.Attribute("Condition")?.Value ?? "")
                .Contains($"== '{backend}'", StringComparison.Ordinal));
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

    [GeneratedRegex(@"podman build -f manifests/images/Containerfile\S* -t (?<tag>\S+) \S+$", RegexOptions.Multiline)]
    private static partial Regex BuildTag();
}
