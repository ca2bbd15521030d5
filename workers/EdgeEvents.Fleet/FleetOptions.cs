using System.ComponentModel.DataAnnotations;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Fleet;

/// <summary>
/// Fleet component settings. Bound from configuration section <c>Fleet</c>; unknown keys fail at start.
/// </summary>
public sealed record FleetOptions : IValidatableObject
{
    public const string Section = "Fleet";

    public static FleetOptions Default { get; } = new();

    /// <summary>
    /// A site from which nothing arrived for this long is <c>offline</c>, whatever its link says. Default 60 s: four of
    /// the components' 15 s stats intervals, so one lost stats message does not flap the state.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SiteTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Least time between two publishes of a site's status when only its figures (counts, last message time) changed.
    /// A change of state, link or components is published at the next check. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan PublishInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the sites' states are re-evaluated (timeouts, the last-minute windows). Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Sites expected at the hub: listed as <c>offline</c> from the start until they are heard. Default none (sites
    /// appear when first heard).
    /// </summary>
    public string[] Sites { get; init; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var site in Sites.Where(s => !SiteName.IsValid(s)))
            yield return new ValidationResult(
                $"Site '{site}' is not a valid site name (lower-case letters, digits and '-').", [nameof(Sites)]);
    }
}
