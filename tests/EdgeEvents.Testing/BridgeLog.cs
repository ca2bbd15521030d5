using System.Text.RegularExpressions;

namespace EdgeEvents.Testing;

/// <summary>
/// Figures an <c>edge-events bridge</c> process writes to its log (stderr), for tests and benchmarks.
/// </summary>
public static partial class BridgeLog
{
    /// <summary>
    /// The largest outbox backlog the bridge reported on reconnecting to the hub ("Hub link up; N messages …"),
    /// or 0.
    /// </summary>
    public static long LargestBacklog(string log) =>
        HubLinkUp().Matches(log).Select(m => long.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    [GeneratedRegex(@"Hub link up; (\d+) messages")]
    private static partial Regex HubLinkUp();
}
