namespace EdgeEvents.Testing;

/// <summary>
/// Finds the shared test data (<c>../shared/models</c>, <c>../shared/samples</c>) beside the repository.
/// Model weights are never committed; tests read them from there.
/// </summary>
public static class TestData
{
    /// <summary>
    /// The repository root: the folder holding EdgeEvents.sln, searched upwards from the test binaries.
    /// </summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The shared folder, or null when it is absent.</summary>
    public static string? SharedFolder { get; } = FindShared();

    public static string ModelsFolder => Path.Combine(RequireShared(), "models");
    public static string SamplesFolder => Path.Combine(RequireShared(), "samples");

    public static string Model(string fileName) => RequireFile(Path.Combine(ModelsFolder, fileName));
    public static string Sample(string fileName) => RequireFile(Path.Combine(SamplesFolder, fileName));

    private static string RequireShared() => SharedFolder ?? throw new InvalidOperationException(
        "Test data not found: expected a 'shared' folder with models/ and samples/ beside the repository " +
        $"({Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"))}), or EDGEEVENTS_SHARED pointing at it.");

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"Test data file missing: {path}", path);

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeEvents.sln"))) return dir.FullName;
        throw new InvalidOperationException($"EdgeEvents.sln not found above {AppContext.BaseDirectory}.");
    }

    private static string? FindShared()
    {
        var fromEnv = Environment.GetEnvironmentVariable("EDGEEVENTS_SHARED");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv)) return Path.GetFullPath(fromEnv);
        var beside = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
        return Directory.Exists(beside) ? beside : null;
    }
}
