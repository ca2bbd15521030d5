using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Contracts.Tests;

public sealed class FleetTopics_Tests
{
    private readonly FleetTopics _fleet = new("edge");

    [Fact]
    public void A_site_appears_at_the_hub_under_its_name()
    {
        var site = _fleet.ForSite("plant-a");
        Assert.Equal("sites/plant-a/edge/events/cam1", site.Events("cam1"));
        Assert.Equal("sites/plant-a/edge/questions/alice", site.Questions("alice"));
        Assert.Equal("sites/plant-a/edge/events/+", site.AllOf(TopicKind.Events));
        Assert.Equal("sites.plant-a.edge.events.cam1", TopicScheme.ToNatsSubject(site.Events("cam1")));
        Assert.Equal((TopicKind.Events, "cam1"), site.Parse("sites/plant-a/edge/events/cam1"));
        Assert.Equal("sites/plant-a/link", FleetTopics.Link("plant-a"));
        Assert.Equal("fleet/sites/plant-a", FleetTopics.SiteStatus("plant-a"));
        Assert.Equal("fleet/summary", FleetTopics.Summary);
        Assert.Equal("sites/+/edge/events/+", _fleet.AllSitesOf(TopicKind.Events));
        Assert.Equal("sites/+/edge/questions/#", _fleet.AllSitesOf(TopicKind.Questions));
        Assert.Equal("sites/plant-a/edge/scene/cam2", FleetTopics.ToHub("plant-a", "edge/scene/cam2"));
    }

    [Theory]
    [InlineData("sites/plant-a/edge/events/cam1", "plant-a", "edge/events/cam1")]
    [InlineData("sites/s1/link", "s1", "link")]
    public void FromHub_splits_a_hub_topic_into_site_and_local_topic(string topic, string site, string local) =>
        Assert.Equal((site, local), FleetTopics.FromHub(topic));

    [Theory]
    [InlineData("edge/events/cam1")]
    [InlineData("sites/plant-a")]
    [InlineData("sites/plant-a/")]
    [InlineData("sites/Plant_A/edge/events/cam1")]
    [InlineData("fleet/sites/plant-a")]
    public void FromHub_rejects_topics_outside_a_valid_site(string topic) => Assert.Null(FleetTopics.FromHub(topic));

    [Theory]
    [InlineData("plant-a")]
    [InlineData("s1")]
    [InlineData("0-store-17")]
    public void Valid_site_names_pass(string name) => Assert.Equal(name, SiteName.Validate(name));

    [Theory]
    [InlineData("")]
    [InlineData("Plant-A")]
    [InlineData("plant_a")]
    [InlineData("plant.a")]
    [InlineData("plant/a")]
    [InlineData("-plant")]
    [InlineData("plänt")]
    [InlineData("sites+")]
    public void Invalid_site_names_are_a_clear_error(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => SiteName.Validate(name));
        Assert.Contains("lower-case letters, digits and '-'", error.Message);
        Assert.Throws<ArgumentException>(() => _fleet.ForSite(name));
    }

    [Fact]
    public void A_site_name_longer_than_63_characters_is_refused() =>
        Assert.False(SiteName.IsValid(new string('a', 64)));

    [Fact]
    public void Site_status_round_trips_as_camel_case_json()
    {
        var status = new SiteStatus
        {
            Site = "plant-a", State = SiteStates.Degraded, Since = DateTimeOffset.UnixEpoch, Link = LinkStates.Up,
            Components = new SiteComponents { Online = ["camera-cam1"], Offline = ["detector"] },
            Cameras = [new SiteCamera { Camera = "cam1", Counts = new Dictionary<string, int> { ["person"] = 2 } }],
            EventsLastMinute = 7, ErrorsLastMinute = 1,
        };
        var json = MessageCodec.Serialize(status, PayloadFormat.Json);
        var text = System.Text.Encoding.UTF8.GetString(json);
        Assert.Contains("\"state\":\"degraded\"", text);
        Assert.Contains("\"eventsLastMinute\":7", text);
        var back = MessageCodec.Deserialize<SiteStatus>(json);
        Assert.Equal(["detector"], back.Components.Offline);
        Assert.Equal(2, back.Cameras[0].Counts["person"]);
    }
}
