using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using Xunit.Abstractions;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// Issue 18's acceptance for the built-in bridge, on the shared <see cref="BridgedSite"/> run: an embedded-broker site
/// bridged into a mosquitto hub and a NATS hub, the WAN cut for 60 s, the bridge killed (SIGKILL) and restarted in the cut.
/// </summary>
public sealed class SiteToHub_Tests(BridgedSite run, ITestOutputHelper output) : IClassFixture<BridgedSite>
{
    [Fact]
    public void Every_event_seen_at_the_site_reaches_the_mosquitto_hub_exactly_once_in_camera_order() => AssertDelivered(run.Mosquitto);

    [Fact]
    public void Every_event_seen_at_the_site_reaches_the_nats_hub_exactly_once_in_camera_order() => AssertDelivered(run.Nats);

    [Fact]
    public void The_mosquitto_hub_sees_the_link_down_during_the_cut_and_up_after_it()
    {
        var link = run.Mosquitto.Link!.Arrivals;
        Assert.Contains(link, a => BridgedSite.Payload(a) == LinkPayloads.Down && a.At > run.CutAt && a.At < run.RestoredAt);
        Assert.Equal(LinkPayloads.Up, BridgedSite.Payload(link[^1]));
        Assert.Contains(link, a => BridgedSite.Payload(a) == LinkPayloads.Up && a.At > run.RestoredAt);
    }

    /// <summary>NATS has no last will: a cut shows at the hub only through the fleet component's site timeout. The bridge says <c>1</c> again on reconnecting.</summary>
    [Fact]
    public void The_nats_hub_sees_the_link_up_again_after_the_cut() =>
        Assert.Contains(run.Nats.Link!.Arrivals, a => BridgedSite.Payload(a) == LinkPayloads.Up && a.At > run.RestoredAt);

    [Fact]
    public void The_fleet_component_at_the_mosquitto_hub_shows_the_site_offline_during_the_cut_and_online_after_it() => AssertFleetStatus(run.Mosquitto);

    /// <summary>Without a last will, the fleet component's site timeout (10 s here) says the site is offline.</summary>
    [Fact]
    public void The_fleet_component_at_the_nats_hub_shows_the_site_offline_during_the_cut_and_online_after_it() => AssertFleetStatus(run.Nats);

    [Fact]
    public void A_question_asked_at_the_mosquitto_hub_during_the_cut_is_answered_after_it_on_the_askers_response_topic()
    {
        var answer = run.Mosquitto.Answers!.Arrivals.Single(a => BridgedSite.IsAnswerTo(a, run.Mosquitto.QuestionId!));
        Assert.True(answer.At > run.RestoredAt);
        Assert.Equal(run.Mosquitto.QuestionId, Encoding.UTF8.GetString(answer.Message.CorrelationData.Span));
        output.WriteLine($"mosquitto hub: answered {(answer.At - run.RestoredAt).TotalSeconds:0.0} s after the WAN came back");
    }

    [Fact]
    public void A_question_asked_at_the_nats_hub_during_the_cut_is_answered_after_it_on_the_site_answers()
    {
        var answer = run.Nats.Answers!.Arrivals.First(a => BridgedSite.IsAnswerTo(a, run.Nats.QuestionId!));
        Assert.True(answer.At > run.RestoredAt);
        output.WriteLine($"nats hub: answered {(answer.At - run.RestoredAt).TotalSeconds:0.0} s after the WAN came back");
    }

    private void AssertFleetStatus(HubSide hub)
    {
        var states = hub.FleetStatus!.Arrivals.Select(a => (a.At, BridgedSite.Status(a).State)).ToList();
        var offline = states.FirstOrDefault(s => s.State == SiteStates.Offline && s.At > run.CutAt && s.At < run.RestoredAt);
        Assert.True(offline != default, $"{hub.Name} hub: no offline state during the cut: {string.Join(", ", states.Select(s => $"{s.At:HH:mm:ss} {s.State}"))}");
        Assert.Contains(states, s => s.State == SiteStates.Online && s.At > run.RestoredAt);
        Assert.Equal(SiteStates.Online, states[^1].State);
        output.WriteLine($"{hub.Name} hub: fleet/sites/{BridgedSite.Site} offline {(offline.At - run.CutAt).TotalSeconds:0.0} s into the cut, " +
            $"online {(states.First(s => s.State == SiteStates.Online && s.At > run.RestoredAt).At - run.RestoredAt).TotalSeconds:0.0} s after it");
    }

    private void AssertDelivered(HubSide hub)
    {
        var local = BridgedSite.EventIds(run.Local);
        var arrivals = hub.Events!.Arrivals;
        var delivered = BridgedSite.EventIds(hub.Events);
        var lost = local.Except(delivered).Count();
        var arrivedAt = arrivals.GroupBy(a => BridgedSite.Event(a).Id).ToDictionary(g => g.Key, g => g.Min(a => a.At));
        var catchUp = run.ProducedBeforeRestore.Where(arrivedAt.ContainsKey).Select(id => arrivedAt[id] - run.RestoredAt).DefaultIfEmpty().Max();
        var figures = $"{hub.Name} hub: produced {local.Count}, delivered {delivered.Count} ({arrivals.Count} handed over), duplicates suppressed " +
            $"{hub.Events.Subscription.Duplicates}, lost {lost}, largest backlog {hub.LargestBacklog} messages, catch-up {Math.Max(0, catchUp.TotalSeconds):0.0} s " +
            $"after a {BridgedSite.CutLength.TotalSeconds:0} s cut with the bridge killed in it";
        output.WriteLine(figures);
        Assert.True(lost == 0, $"{figures}\n{hub.BridgeLogs}");
        Assert.Equal(delivered.Count, arrivals.Count);
        foreach (var camera in BridgedSite.Cameras)
        {
            var times = arrivals.Select(BridgedSite.Event).Where(e => e.Camera == camera).Select(e => e.CreatedAt).ToList();
            Assert.True(times.Count > 0, $"{camera}: no events at the {hub.Name} hub");
            Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second), $"{camera}: events out of creation order at the {hub.Name} hub");
        }
    }
}
