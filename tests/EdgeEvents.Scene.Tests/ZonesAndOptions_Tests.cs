using System.ComponentModel.DataAnnotations;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Scene.Tracking;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Scene.Tests;

public sealed class ZonesAndOptions_Tests
{
    [Fact]
    public void A_concave_zone_contains_only_points_inside_it()
    {
        // An L shape: the notch at the top right is outside.
        var zone = Zone.Parse("yard", "0,0, 100,0, 100,50, 50,50, 50,100, 0,100");
        Assert.True(zone.Contains(25, 75));
        Assert.True(zone.Contains(75, 25));
        Assert.False(zone.Contains(75, 75));
        Assert.False(zone.Contains(150, 25));
    }

    [Theory]
    [InlineData("0,0,10,0")]
    [InlineData("0,0,10,0,10")]
    [InlineData("0,0,10,x,10,10")]
    public void A_zone_without_three_numeric_points_is_rejected(string coordinates) =>
        Assert.Throws<FormatException>(() => Zone.Parse("bad", coordinates));

    [Fact]
    public void Invalid_options_are_reported_with_their_reason()
    {
        var options = new SceneOptions
        {
            Partition = "2/2",
            LowConfidence = 0.6f,
            HighConfidence = 0.5f,
            Zones = new() { ["cam1"] = new() { ["door"] = "1,2,3" } },
        };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results,
            validateAllProperties: true));

        Assert.Contains(results, r => r.ErrorMessage!.Contains("Partition '2/2'", StringComparison.Ordinal));
        Assert.Contains(results, r => r.ErrorMessage!.Contains("LowConfidence", StringComparison.Ordinal));
        Assert.Contains(results,
            r => r.ErrorMessage!.Contains("Zone 'door' of camera 'cam1'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Scene:Partition", "1/1", "Partition '1/1'")]
    [InlineData("Scene:LostAfterSeconds", "3", "LostAfterSeconds")]
    [InlineData("Scene:Zones:cam1:door", "0,0,1", "Zone 'door' of camera 'cam1'")]
    public void Bad_configuration_fails_when_the_options_are_first_used(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [key] = value })
            .Build();
        using var services = new ServiceCollection().AddLogging().AddSceneWorker(configuration).BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(() => services.GetRequiredService<IOptions<SceneOptions>>().Value);

        Assert.True(error is OptionsValidationException or InvalidOperationException, error.GetType().Name);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_binds_zones_cameras_and_durations()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scene:Cameras:0"] = "cam1",
            ["Scene:Partition"] = "1/3",
            ["Scene:LostAfter"] = "00:00:01.5",
            ["Scene:Zones:cam1:door"] = "0,0,10,0,10,10",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddSceneWorker(configuration).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<SceneOptions>>().Value;

        Assert.Equal(["cam1"], options.Cameras);
        Assert.Equal(new CameraPartition(1, 3), options.ParsePartition());
        Assert.Equal(TimeSpan.FromSeconds(1.5), options.LostAfter);
        Assert.Equal("door", Assert.Single(options.ZonesFor("cam1")).Name);
        Assert.Empty(options.ZonesFor("cam2"));
    }

    [Fact]
    public void Each_camera_belongs_to_exactly_one_partition()
    {
        var workers = Enumerable.Range(0, 3)
            .Select(i => new CameraOwnership(new SceneOptions { Partition = $"{i}/3" }))
            .ToList();
        var cameras = Enumerable.Range(0, 100).Select(i => $"cam{i}").ToList();

        foreach (var camera in cameras) Assert.Single(workers, w => w.Owns(camera));
        // All partitions get work.
        Assert.All(workers, w => Assert.Contains(cameras, w.Owns));
    }

    [Fact]
    public void The_partition_hash_is_stable_across_processes()
    {
        // FNV-1a("cam1") = 1794036519, fixed by definition (unlike string.GetHashCode).
        Assert.Equal(1794036519 % 4, CameraPartition.Of("cam1", 4));
    }

    [Fact]
    public void A_camera_list_limits_ownership_within_the_partition()
    {
        var ownership = new CameraOwnership(new SceneOptions { Cameras = ["cam1", "cam2"] });
        Assert.True(ownership.Owns("cam1"));
        Assert.False(ownership.Owns("cam3"));
    }
}
