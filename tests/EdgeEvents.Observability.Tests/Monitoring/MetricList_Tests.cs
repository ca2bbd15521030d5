using Xunit.Abstractions;

namespace EdgeEvents.Observability.Tests.Monitoring;

public sealed class MetricList_Tests(ITestOutputHelper output)
{
    [Fact]
    public void README_lists_every_metric_the_code_creates_and_nothing_else()
    {
        var created = MetricCatalog.Created();
        var documented = MetricCatalog.Documented();
        output.WriteLine($"created {created.Count}: {string.Join(", ", created)}");
        Assert.Empty(created.Except(documented));
        Assert.Empty(documented.Except(created));
    }
}
