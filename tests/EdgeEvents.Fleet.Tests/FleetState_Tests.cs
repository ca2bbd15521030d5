using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Fleet.Tests;

public sealed class FleetState_Tests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private readonly FleetState _fleet = new(new FleetTopics(), FleetOptions.Default with { SiteTimeout = TimeSpan.FromSeconds(60), PublishInterval = TimeSpan.FromSeconds(5) });

    [Fact]
    public void A_site_that_sends_is_online_and_one_silent_for_the_timeout_is_offline()
    {
        Text("sites/north/edge/stats/scene", "{}", T0);
        Assert.Equal(SiteStates.Online, Status("north", T0.AddSeconds(59)).State);
        var status = Status("north", T0.AddSeconds(60));
        Assert.Equal(SiteStates.Offline, status.State);
        Assert.Equal(T0.AddSeconds(60), status.Since);
        Assert.Equal(T0, status.LastMessageAt);
    }

    [Fact]
    public void A_link_that_says_down_makes_the_site_offline_at_once_and_up_brings_it_back()
    {
        Text("sites/north/link", "1", T0);
        Assert.Equal(SiteStates.Online, Status("north", T0).State);
        Text("sites/north/link", "0", T0.AddSeconds(1));
        var down = Status("north", T0.AddSeconds(1));
        Assert.Equal((SiteStates.Offline, LinkStates.Down), (down.State, down.Link));
        Text("sites/north/link", "1", T0.AddSeconds(5));
        var up = Status("north", T0.AddSeconds(5));
        Assert.Equal((SiteStates.Online, LinkStates.Up, T0.AddSeconds(5)), (up.State, up.Link, up.Since));
    }

    [Fact]
    public void A_component_offline_makes_the_site_degraded()
    {
        Text("sites/north/edge/status/scene", "online", T0);
        Text("sites/north/edge/status/detector", "offline", T0);
        var status = Status("north", T0);
        Assert.Equal(SiteStates.Degraded, status.State);
        Assert.Equal(["scene"], status.Components.Online);
        Assert.Equal(["detector"], status.Components.Offline);
    }

    [Fact]
    public void Retained_messages_replayed_on_subscribe_are_not_a_sign_of_life()
    {
        Observe("sites/north/link", "1", T0, retained: true);
        Observe("sites/north/edge/status/scene", "online", T0, retained: true);
        var status = Status("north", T0);
        Assert.Equal(SiteStates.Offline, status.State);
        Assert.Null(status.LastMessageAt);
        Assert.Equal(["scene"], status.Components.Online);
    }

    [Fact]
    public void Cameras_carry_their_current_counts_and_events_and_errors_are_counted_over_the_last_minute()
    {
        var scene = new SceneState { Camera = "cam1", Counts = new Dictionary<string, int> { ["person"] = 3 } };
        _fleet.Observe("sites/north/edge/scene/cam1", MessageCodec.Serialize(scene, PayloadFormat.MessagePack), ContentTypes.MessagePack, false, T0);
        Text("sites/north/edge/events/cam1", "{}", T0);
        Text("sites/north/edge/events/cam1", "{}", T0.AddSeconds(30));
        Text("sites/north/edge/errors/detector", "{}", T0.AddSeconds(30));
        var status = Status("north", T0.AddSeconds(40));
        Assert.Equal(3, status.Cameras.Single(c => c.Camera == "cam1").Counts["person"]);
        Assert.Equal((2, 1), (status.EventsLastMinute, status.ErrorsLastMinute));
        Assert.Equal((1, 1), (Status("north", T0.AddSeconds(60)).EventsLastMinute, Status("north", T0.AddSeconds(60)).ErrorsLastMinute));
    }

    [Fact]
    public void Malformed_link_status_and_scene_payloads_are_clear_errors_and_the_site_still_counts_as_heard()
    {
        Assert.Throws<MessageFormatException>(() => Text("sites/north/link", "maybe", T0));
        Assert.Throws<MessageFormatException>(() => Text("sites/north/edge/status/scene", "sleepy", T0));
        Assert.Throws<MessageFormatException>(() => Text("sites/north/edge/scene/cam1", "{not json", T0));
        Assert.Equal(T0, Status("north", T0).LastMessageAt);
    }

    [Fact]
    public void Topics_outside_valid_sites_are_ignored()
    {
        Text("sites/North/edge/events/cam1", "{}", T0);
        Text("edge/events/cam1", "{}", T0);
        Assert.Empty(_fleet.Evaluate(T0).Changed);
    }

    [Fact]
    public void Expected_sites_are_listed_offline_before_they_are_heard_and_the_summary_counts_states()
    {
        _fleet.Expect(["north", "south"], T0);
        Text("sites/south/edge/stats/scene", "{}", T0);
        var (changed, summary) = _fleet.Evaluate(T0);
        Assert.Equal(["north", "south"], changed.Select(s => s.Site));
        Assert.NotNull(summary);
        Assert.Equal((1, 1, 0), (summary.Online, summary.Offline, summary.Degraded));
        Assert.Equal([SiteStates.Offline, SiteStates.Online], summary.Sites.Select(s => s.State));
    }

    [Fact]
    public void A_state_change_is_published_at_once_but_changed_figures_wait_for_the_publish_interval()
    {
        Text("sites/north/edge/stats/scene", "{}", T0);
        Assert.Single(_fleet.Evaluate(T0).Changed);
        Assert.Empty(_fleet.Evaluate(T0.AddSeconds(1)).Changed);
        Text("sites/north/edge/events/cam1", "{}", T0.AddSeconds(2));
        Assert.Empty(_fleet.Evaluate(T0.AddSeconds(2)).Changed);
        Assert.Single(_fleet.Evaluate(T0.AddSeconds(5)).Changed);
        Text("sites/north/link", "0", T0.AddSeconds(6));
        Assert.Equal(SiteStates.Offline, Assert.Single(_fleet.Evaluate(T0.AddSeconds(6)).Changed).State);
        Assert.Empty(_fleet.Evaluate(T0.AddSeconds(30)).Changed);
    }

    [Fact]
    public void Each_detectors_model_state_is_shown_and_a_change_is_published_at_once()
    {
        Text("sites/north/edge/stats/scene", "{}", T0);
        Assert.Single(_fleet.Evaluate(T0).Changed);
        var active = new ModelStatus(RolloutStates.Active, "v2", "v2", "v1", Agreement: 0.98);
        Model("sites/north/edge/status/detector/det-a/model", active, T0.AddSeconds(1));
        Model("sites/north/edge/status/detector/det-b/model", new ModelStatus(RolloutStates.Verifying, "v2", "v1"), T0.AddSeconds(1));
        var published = Assert.Single(_fleet.Evaluate(T0.AddSeconds(1)).Changed);
        Assert.Equal(["det-a", "det-b"], published.Models.Keys);
        Assert.Equal(active, published.Models["det-a"]);
        var overMessagePack = MessageCodec.Serialize(published, PayloadFormat.MessagePack);
        Assert.Equal(published.Models, MessageCodec.Deserialize<SiteStatus>(overMessagePack, ContentTypes.MessagePack).Models);

        var rolledBack = new ModelStatus(RolloutStates.RolledBack, "v2", "v1", Reason: "gate: agreement below 0.900");
        Model("sites/north/edge/status/detector/det-b/model", rolledBack, T0.AddSeconds(2));
        var changed = Assert.Single(_fleet.Evaluate(T0.AddSeconds(2)).Changed);
        Assert.Equal((RolloutStates.RolledBack, "v1", "gate: agreement below 0.900"),
            (changed.Models["det-b"].State, changed.Models["det-b"].ActiveVersion, changed.Models["det-b"].Reason));
        Assert.Empty(_fleet.Evaluate(T0.AddSeconds(3)).Changed);
    }

    [Fact]
    public void A_malformed_model_state_is_a_clear_error_and_other_status_topics_are_not_taken_for_one()
    {
        Assert.Throws<MessageFormatException>(() => Text("sites/north/edge/status/detector/det-a/model", "{\"state\": 3}", T0));
        Assert.Throws<MessageFormatException>(() => Text("sites/north/edge/status/detector/det-a/model", "{\"state\": \"active\"}", T0));
        Text("sites/north/edge/status/detector/det-a/other", "{}", T0);
        Text("sites/north/edge/status/detector/a/b/model", "{}", T0);
        Assert.Empty(Status("north", T0).Models);
    }

    private void Model(string topic, ModelStatus status, DateTimeOffset now) =>
        _fleet.Observe(topic, MessageCodec.Serialize(status, PayloadFormat.Json), ContentTypes.Json, retained: true, now);

    private SiteStatus Status(string site, DateTimeOffset now) =>
        _fleet.Status(site, now) ?? throw new InvalidOperationException($"Site '{site}' is unknown.");

    private void Text(string topic, string payload, DateTimeOffset now) => Observe(topic, payload, now, retained: false);

    private void Observe(string topic, string payload, DateTimeOffset now, bool retained) =>
        _fleet.Observe(topic, Encoding.UTF8.GetBytes(payload), null, retained, now);
}
