namespace EdgeEvents.Manifests.Tests.Infrastructure;

public static class Expect
{
    /// <summary>
    /// Passes when there are no problems; otherwise fails listing every one (Assert.Empty truncates).
    /// </summary>
    public static void NoProblems(IReadOnlyCollection<string> problems) =>
        Assert.True(problems.Count == 0, $"{problems.Count} problem(s):\n  " + string.Join("\n  ", problems));
}
