using EdgeEvents.Testing;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>Paths in the repository under test.</summary>
public static class Repository
{
    public static string Root => TestData.RepositoryRoot;

    public static string Manifests { get; } = Path.Combine(Root, "manifests");
}
