namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>Paths in the repository under test, found from the test assembly's folder.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Manifests { get; } = Path.Combine(Root, "manifests");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeEvents.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"No EdgeEvents.sln above {AppContext.BaseDirectory}.");
    }
}
