using System.Diagnostics;
using EdgeEvents.Cli.Links;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// Site <c>north</c>: a nats-server with JetStream in its own domain, a leaf node of a 3-node hub cluster with
/// JetStream, both configured from <c>edge-events link nats</c>; one fault proxy per hub server stands for the WAN.
/// North runs camera, detector, scene and LLM; the fleet component runs at the hub.
/// </summary>
public sealed class NatsFleet_Tests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Cut = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-fleet-nats-");

    /// <summary>
    /// North's WAN is cut for 60 s while its pipeline runs, and north's own nats-server is killed (SIGKILL) in the cut
    /// and started again; then one of the three hub servers is killed while north publishes. Every event north's local
    /// observer saw reaches the hub once after de-duplication, in order; the fleet shows north offline during the cut
    /// and online after; questions asked at the hub, one of them during the cut, reach north once each and are
    /// answered; the status north's components published during the cut reaches the hub after it; south's
    /// credentials cannot put anything into north's namespace.
    /// </summary>
    [Fact]
    public async Task A_leaf_site_delivers_every_event_once_in_order_through_a_cut_a_site_crash_and_a_hub_server_crash()
    {
        await using var hub = await NatsHubCluster.StartAsync(_folder.FullName, ["north", "south"]);
        await hub.CreateSiteStreamsAsync("north", Timeout);
        var wan = hub.Wan;
        var siteConfig = Path.Combine(_folder.FullName, "north.conf");
        await File.WriteAllTextAsync(siteConfig, NatsLink.SiteConfig(new NatsLinkSettings
        {
            Site = "north", Password = "north-pw", StoreDir = Path.Combine(_folder.FullName, "north"),
            Hubs = hub.LeafUrls,
        }));
        await using var north = await NatsServer.StartNewAsync(jetStream: false, extraArguments: $"-c {siteConfig}");

        // At the hub: the fleet component and an observer, both on the first server (the one never killed).
        var hubSettings = hub.HubClientSettings();
        using var fleet = await HubFleet.StartAsync(hubSettings["Transport:Broker"]!, hubSettings);
        var observerOptions = TestTransports.Options(hub.Servers[0].Url, "hub-observer") with
        {
            Username = "hub",
            Password = "hub-pw",
            Nats = new NatsOptions { JetStream = null },
        };
        await using var observer = await TestTransports.ConnectAsync(observerOptions);
        await using var hubEvents = await EventLedger.AtHubAsync(observer);
        await using var fleetWatch = await FleetWatch.StartAsync(observer);
        await using var answers = await observer.SubscribeAsync(new SubscriptionRequest("sites/+/edge/answers/#"), default);
        await using var probes = await observer.SubscribeAsync(new SubscriptionRequest("sites/+/edge/stats/probe"), default);

        await using var northObserver = await TestTransports.ConnectAsync(TestTransports.Options(north.Url, "north-observer"));
        await using var northEvents = await EventLedger.AtSiteAsync(northObserver, "north");
        // Every copy of a question stored at north: the hub's questions must arrive by one path only.
        var questionCopiesRequest = new SubscriptionRequest("edge/questions/#") { Durable = "question-copies", Deduplicate = false };
        await using var northQuestions = await northObserver.SubscribeAsync(questionCopiesRequest, default);
        var siteSettings = NatsLink.SiteTransportSettings().ToDictionary(s => s.Key, s => (string?)s.Value);
        await using var northSite = await SitePipeline.StartAsync("north", north.Url, vision: true, siteSettings);
        await hubEvents.WaitUntilAsync(l => l.Ids("north").Count > 0, Timeout, "a first event of north at the hub");
        await fleetWatch.WaitForAsync("north", SiteStates.Online, Timeout);
        await AssertSiteCannotWriteIntoAnotherSiteAsync(hub.Servers[0].Url, hubEvents, probes);
        await HubQuestions.AskAsync(observer, "north", "alice", "q-nats");
        Assert.Equal(AnswerStatus.Ok, (await HubQuestions.AnswerAsync(answers, "sites/north/edge/answers/alice", "q-nats")).Status);

        // The cut: every hub server out of reach.
        foreach (var proxy in wan) proxy.Cut();
        var cutClock = Stopwatch.StartNew();
        await fleetWatch.WaitForAsync("north", SiteStates.Offline, Timeout);
        output.WriteLine($"north offline at the hub {cutClock.Elapsed.TotalSeconds:0.0} s after the cut (site timeout {HubFleet.SiteTimeout.TotalSeconds:0} s)");
        await HubQuestions.AskAsync(observer, "north", "bob", "q-nats-cut");
        // North's own server crashes in the cut: its streams, the hub's source position and its workers' consumers
        // live on in its JetStream store.
        await north.StopAsync(kill: true);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await north.StartAsync();
        output.WriteLine($"north's nats-server killed and restarted {cutClock.Elapsed.TotalSeconds:0.0} s into the cut");
        var largestBacklog = 0;
        while (cutClock.Elapsed < Cut)
        {
            largestBacklog = Math.Max(largestBacklog, EventLedger.Backlog("north", northEvents, hubEvents));
            await Task.Delay(500);
        }
        Assert.Equal(SiteStates.Offline, fleetWatch.Latest("north")!.State);
        // North's components announced themselves again on its restarted server, during the cut: retained state
        // crosses after the cut too.
        var statusRequest = new SubscriptionRequest("sites/north/edge/status/#");
        await using var statusAfterCut = await observer.SubscribeAsync(statusRequest, default);
        foreach (var proxy in wan) proxy.Restore();
        var linkBack = Stopwatch.StartNew();
        var catchUp = await EventLedger.CaughtUpAsync("north", northEvents, hubEvents, Timeout);
        var questionCopies = await ReadUntilAsync(northQuestions, "q-nats-cut");
        output.WriteLine($"the question asked during the cut reached north {linkBack.Elapsed.TotalSeconds:0.0} s after the link returned");
        Assert.Equal(AnswerStatus.Ok, (await HubQuestions.AnswerAsync(answers, "sites/north/edge/answers/bob", "q-nats-cut")).Status);
        output.WriteLine($"and was answered at the hub {linkBack.Elapsed.TotalSeconds:0.0} s after it");
        await Receive.ExactlyAsync(statusAfterCut, 1, Timeout);
        await fleetWatch.WaitForAsync("north", SiteStates.Online, Timeout);

        // One hub server killed while north publishes, then back.
        await hub.Servers[2].StopAsync(kill: true);
        var seenBeforeKill = northEvents.Ids("north").Count;
        await northEvents.WaitUntilAsync(l => l.Ids("north").Count >= seenBeforeKill + 5, Timeout, "north publishing while a hub server is down");
        await hub.Servers[2].StartAsync();

        await northSite.StopAsync();
        // Let the last events cross; what has not by the timeout is counted as lost.
        try { await EventLedger.CaughtUpAsync("north", northEvents, hubEvents, Timeout); }
        catch (TimeoutException) { }
        var figures = EventLedger.Compare("north", northEvents, hubEvents);
        output.WriteLine($"NATS leaf into a 3-node hub, 60 s cut with the site's server SIGKILLed in it, then a hub server SIGKILLed: {figures}, largest backlog {largestBacklog}, catch-up {catchUp.TotalSeconds:0.0} s after the link returned");
        Assert.Equal(0, figures.Lost);
        Assert.True(largestBacklog > 0, "Events should have piled up at the site during the cut.");
        var laterCopies = await Receive.UntilQuietAsync(northQuestions.Messages, TimeSpan.FromSeconds(2));
        questionCopies.AddRange(laterCopies.Select(q => q.MessageId!));
        Assert.Equal(["q-nats", "q-nats-cut"], questionCopies.Order());
    }

    /// <summary>
    /// South's credentials put a client in south's account at the hub: what it publishes on <c>sites.north....</c> goes
    /// nowhere, while its own live subjects appear under <c>sites.south.</c>.
    /// </summary>
    private static async Task AssertSiteCannotWriteIntoAnotherSiteAsync(string hubUrl, EventLedger hubEvents, IMessageSubscription probes)
    {
        var options = TestTransports.Options(hubUrl, "south-impostor") with { Username = "south", Password = "south-pw", Nats = new NatsOptions { JetStream = null } };
        await using var south = await TestTransports.ConnectAsync(options);
        var forged = new SceneEvent { Id = "forged-by-south", Camera = "cam1", Type = SceneEventTypes.New };
        await south.PublishAsync(new OutgoingMessage("sites/north/edge/events/cam1", MessageCodec.Serialize(forged, PayloadFormat.Json)) { ContentType = ContentTypes.Json, MessageId = forged.Id }, default);
        await south.PublishAsync(new OutgoingMessage("edge/stats/probe", "{}"u8.ToArray()) { Delivery = Delivery.AtMostOnce }, default);
        var probe = (await Receive.ExactlyAsync(probes, 1, Timeout))[0];
        Assert.Equal("sites/south/edge/stats/probe", probe.Topic);
        Assert.DoesNotContain(forged.Id, hubEvents.Ids("north"));
    }

    /// <summary>Ids of the questions stored at the site, up to and including <paramref name="id"/>.</summary>
    private static async Task<List<string>> ReadUntilAsync(IMessageSubscription questions, string id)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var ids = new List<string>();
        while (ids.LastOrDefault() != id) ids.Add((await questions.Messages.ReadAsync(timeout.Token)).MessageId!);
        return ids;
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
