using EdgeEvents.Pipeline.Configuration;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Scene;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Cli.Tests;

public sealed class Durations_Tests
{
    public static TheoryData<string, double> Accepted => new()
    {
        { "500ms", 500 }, { "2s", 2_000 }, { "1.5s", 1_500 }, { "1m", 60_000 }, { "1h", 3_600_000 },
        { "1d", 86_400_000 },
        { "0s", 0 }, { " 3s ", 3_000 }, { "00:00:03", 3_000 }, { "00:01:00.250", 60_250 }, { "1.00:00:00", 86_400_000 },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Every_accepted_form_reads_as_its_duration(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Durations.Parse(text));

    [Theory]
    [InlineData("2")]
    [InlineData("30")]
    [InlineData("1.5")]
    public void A_bare_number_is_refused_with_the_accepted_forms(string text)
    {
        var error = Assert.Throws<FormatException>(() => Durations.Parse(text));
        Assert.Equal($"'{text}' is not a duration: give it a unit (500ms, 2s, 1m, 1h, 1d or hh:mm:ss).", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-2s")]
    [InlineData("2 sec")]
    [InlineData("2x")]
    [InlineData("s")]
    [InlineData("1e3ms")]
    [InlineData("25:00:00")]
    [InlineData("-00:00:01")]
    public void Malformed_durations_are_refused(string text)
    {
        Assert.False(Durations.TryParse(text, out _));
        Assert.Contains(Durations.AcceptedForms, Assert.Throws<FormatException>(() => Durations.Parse(text)).Message);
    }

    [Theory]
    [InlineData(500, "500ms")]
    [InlineData(3_000, "3s")]
    [InlineData(1_500, "1500ms")]
    [InlineData(120_000, "2m")]
    [InlineData(86_400_000, "1d")]
    [InlineData(0, "0s")]
    public void Format_writes_the_shortest_form_that_reads_back_the_same(double milliseconds, string text)
    {
        var value = TimeSpan.FromMilliseconds(milliseconds);
        Assert.Equal(text, Durations.Format(value));
        Assert.Equal(value, Durations.Parse(text));
    }

    [Fact]
    public void Configuration_values_use_the_same_grammar()
    {
        var options = Bind(new()
        {
            ["Scene:LostAfter"] = "1500ms", ["Scene:StationaryAfter"] = "00:00:07", ["Scene:PublishInterval"] = "1s"
        });
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.LostAfter);
        Assert.Equal(TimeSpan.FromSeconds(7), options.StationaryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), options.PublishInterval);
        // The transport's keys too (bound without the options machinery).
        var transport = EdgeServiceCollectionExtensions.BindTransportOptions(
            new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Transport:KeepAlive"] = "30s" })
                .Build(),
            "scene");
        Assert.Equal(TimeSpan.FromSeconds(30), transport.KeepAlive);
    }

    [Fact]
    public void A_bare_number_in_configuration_is_an_error_at_start_naming_the_key_and_the_forms()
    {
        var error = Assert.ThrowsAny<InvalidOperationException>(() => Bind(new() { ["Scene:LostAfter"] = "3" }));
        Assert.Contains("Scene:LostAfter", error.Message);
        Assert.Contains("'3' is not a duration: give it a unit (500ms, 2s, 1m, 1h, 1d or hh:mm:ss)",
            error.InnerException?.Message);
    }

    private static SceneOptions Bind(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddEdgeOptions<SceneOptions>(configuration, SceneOptions.Section);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<SceneOptions>>().Value;
    }
}
