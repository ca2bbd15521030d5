namespace EdgeEvents.Fleet.Tests;

/// <summary>The fleet acceptance tests run one after the other: each runs a site's whole pipeline on the shared 2 cores.</summary>
[CollectionDefinition(Name)]
public sealed class FleetCollection
{
    public const string Name = "fleet";
}
