using System.Xml.Linq;
using EdgeEvents.Testing;

namespace EdgeEvents.Pipeline.Tests;

/// <summary>
/// The one dependency rule of the layout (README, Project layout): contracts ← pipeline ← workers ← cli. A worker
/// references only contracts and the pipeline library, never another worker and never the embedded broker.
/// </summary>
public sealed class ProjectLayout_Tests
{
    private static readonly string Root = TestData.RepositoryRoot;

    public static TheoryData<string> Workers()
    {
        var data = new TheoryData<string>();
        foreach (var project in Directory.GetFiles(Path.Combine(Root, "workers"), "*.csproj", SearchOption.AllDirectories).Order())
            data.Add(Path.GetRelativePath(Root, project));
        return data;
    }

    [Theory]
    [MemberData(nameof(Workers))]
    public void A_worker_references_only_contracts_and_the_pipeline_library(string project)
    {
        var references = ProjectReferences(project);

        Assert.NotEmpty(references);
        Assert.All(references, reference => Assert.Contains(reference, new[]
        {
            Path.Combine("contracts", "EdgeEvents.Contracts", "EdgeEvents.Contracts.csproj"),
            Path.Combine("pipeline", "EdgeEvents.Pipeline", "EdgeEvents.Pipeline.csproj"),
        }));
    }

    [Fact]
    public void The_pipeline_library_references_only_the_contracts()
    {
        var references = ProjectReferences(Path.Combine("pipeline", "EdgeEvents.Pipeline", "EdgeEvents.Pipeline.csproj"));

        Assert.Equal([Path.Combine("contracts", "EdgeEvents.Contracts", "EdgeEvents.Contracts.csproj")], references);
    }

    [Fact]
    public void Only_the_cli_tests_and_bench_reference_the_embedded_broker()
    {
        var broker = Path.Combine("pipeline", "EdgeEvents.Broker", "EdgeEvents.Broker.csproj");
        var users = Directory.GetFiles(Root, "*.csproj", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Root, path))
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Where(path => ProjectReferences(path).Contains(broker))
            .Select(path => path.Split(Path.DirectorySeparatorChar)[0])
            .Distinct()
            .Order()
            .ToList();

        Assert.Subset(new HashSet<string> { "cli", "tests", "bench" }, users.ToHashSet());
        Assert.Contains("cli", users);
    }

    /// <summary>The project's references as paths relative to the repository root.</summary>
    private static List<string> ProjectReferences(string project)
    {
        var folder = Path.GetDirectoryName(Path.Combine(Root, project))!;
        return XDocument.Load(Path.Combine(Root, project))
            .Descendants("ProjectReference")
            .Select(reference => reference.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar))
            .Select(include => Path.GetRelativePath(Root, Path.GetFullPath(Path.Combine(folder, include))))
            .ToList();
    }
}
