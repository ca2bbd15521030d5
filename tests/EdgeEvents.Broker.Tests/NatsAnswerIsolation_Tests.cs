using System.Text;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;
using static EdgeEvents.Broker.Tests.ShippedNats;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// nats-server with JetStream and the shipped authorization, plus a second asker <c>bob</c> (issue 24 on NATS): an
/// asker reads its own answers only — not through a JetStream consumer filtered on another asker's answers, not by
/// pulling or inspecting another asker's consumer, not from another user's reply inboxes — while every role still
/// works. The attacker is a bare NATS.Net client logged in as <c>asker</c>; each refusal is the server's permission
/// violation, checked in its log.
/// </summary>
public sealed class NatsAnswerIsolation_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private const string BobsConsumer = "bob~edge~answers~bob";

    [Fact]
    public async Task An_asker_cannot_create_a_consumer_that_reads_another_askers_answers()
    {
        await using var nats = await ShippedNats.StartAsync();
        // The LLM worker's transport creates the streams (askers may not), bob's his consumer.
        await using var llm = await nats.ConnectAsync("llm");
        await using var bob = await nats.ConnectAsync("bob");
        await using var bobsAnswers = await bob.SubscribeAsync(new SubscriptionRequest("edge/answers/bob") { Durable = "answers" }, default);
        await using var attacker = await nats.ConnectRawAsync("asker");
        var js = new NatsJSContext(attacker);

        // Together: each refusal is the API request's timeout, since the server drops the request.
        var refused = await Task.WhenAll(
            RefusedAsync(() => js.CreateOrUpdateConsumerAsync("EDGE", Pull("asker~edge~answers~asker", "edge.answers.bob")).AsTask()),
            RefusedAsync(() => js.CreateOrUpdateConsumerAsync("EDGE", Pull(BobsConsumer, "edge.answers.bob")).AsTask()),
            RefusedAsync(() => js.CreateOrUpdateConsumerAsync("EDGE", Pull("asker~edge~answers~asker", "edge.answers.>")).AsTask()),
            // The old create subjects carry no filter, so no permission could scope them: none is given.
            RefusedAsync(() => attacker.RequestAsync<string, string>("$JS.API.CONSUMER.DURABLE.CREATE.EDGE.sneaky",
                """{"stream_name":"EDGE","config":{"durable_name":"sneaky","filter_subject":"edge.answers.bob","ack_policy":"explicit"}}""").AsTask()),
            RefusedAsync(() => attacker.RequestAsync<string, string>("$JS.API.CONSUMER.CREATE.EDGE",
                """{"stream_name":"EDGE","config":{"filter_subject":"edge.answers.bob","ack_policy":"none"}}""").AsTask()));
        // The same client may create its own consumer: the refusals above are about whose answers, not a broken client.
        var own = await js.CreateOrUpdateConsumerAsync("EDGE", Pull("asker~edge~answers~asker", "edge.answers.asker"));

        output.WriteLine($"refused: {string.Join("; ", refused)}; own consumer created: {own.Info.Name}");
        nats.AssertViolations(
            "$JS.API.CONSUMER.CREATE.EDGE.asker~edge~answers~asker.edge.answers.bob",
            $"$JS.API.CONSUMER.CREATE.EDGE.{BobsConsumer}.edge.answers.bob",
            "$JS.API.CONSUMER.CREATE.EDGE.asker~edge~answers~asker.edge.answers.>",
            "$JS.API.CONSUMER.DURABLE.CREATE.EDGE.sneaky",
            "$JS.API.CONSUMER.CREATE.EDGE\"");
        Assert.Equal("edge.answers.asker", own.Info.Config.FilterSubject);
    }

    [Fact]
    public async Task An_asker_cannot_pull_inspect_or_acknowledge_another_askers_consumer_which_still_delivers_to_its_owner()
    {
        await using var nats = await ShippedNats.StartAsync();
        // The LLM worker's transport creates the streams; bob's durable consumer, then bob goes away: his answer
        // waits in it. A short ack wait, so a pull bob left behind that takes the answer gives it back soon.
        await using var llm = await nats.ConnectAsync("llm");
        await using (var bob = await nats.ConnectAsync("bob", TimeSpan.FromSeconds(2)))
        await using (await bob.SubscribeAsync(new SubscriptionRequest("edge/answers/bob") { Durable = "answers" }, default)) { }
        await llm.PublishAsync(Text("edge/answers/bob", "bob's answer"), default);

        await using var attacker = await nats.ConnectRawAsync("asker");
        var js = new NatsJSContext(attacker);
        var inbox = attacker.NewInbox();
        await using var stolen = await attacker.SubscribeCoreAsync<byte[]>(inbox);
        await attacker.PublishAsync($"$JS.API.CONSUMER.MSG.NEXT.EDGE.{BobsConsumer}", """{"batch":10,"expires":2000000000}""", replyTo: inbox);
        var info = await RefusedAsync(() => js.GetConsumerAsync("EDGE", BobsConsumer).AsTask());
        await attacker.PublishAsync($"$JS.ACK.EDGE.{BobsConsumer}.1.1.1.0.0", "+ACK");
        await attacker.PingAsync();
        var pulled = 0;
        using (var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
        {
            try { await foreach (var _ in stolen.Msgs.ReadAllAsync(quiet.Token)) pulled++; }
            catch (OperationCanceledException) { }
        }

        await using var bobAgain = await nats.ConnectAsync("bob", TimeSpan.FromSeconds(2));
        await using var answers = await bobAgain.SubscribeAsync(new SubscriptionRequest("edge/answers/bob") { Durable = "answers" }, default);
        var received = await Receive.ExactlyAsync(answers, 1, Timeout);

        output.WriteLine($"attacker pulled {pulled} message(s); info: {info}; bob then received '{Of(received[0])}'");
        nats.AssertViolations($"$JS.API.CONSUMER.MSG.NEXT.EDGE.{BobsConsumer}", $"$JS.API.CONSUMER.INFO.EDGE.{BobsConsumer}", $"$JS.ACK.EDGE.{BobsConsumer}.");
        Assert.Equal(0, pulled);
        Assert.Equal("bob's answer", Of(received[0]));
    }

    [Fact]
    public async Task An_asker_cannot_read_another_users_reply_inboxes_and_request_reply_still_works()
    {
        await using var nats = await ShippedNats.StartAsync();
        await using var llm = await nats.ConnectAsync("llm");
        await using var questions = await llm.SubscribeAsync(new SubscriptionRequest("edge/questions/#") { Durable = "llm", ManualAck = true }, default);
        var inboxes = new List<string>();
        _ = Task.Run(async () =>
        {
            await foreach (var question in questions.Messages.ReadAllAsync())
            {
                lock (inboxes) inboxes.Add(question.ResponseTopic!);
                await llm.PublishAsync(Text(question.ResponseTopic!, $"answer to {Of(question)}"), default);
                await question.AckAsync();
            }
        });
        await using var attacker = await nats.ConnectRawAsync("asker");
        await using var everyInbox = await attacker.SubscribeCoreAsync<byte[]>("_INBOX.>");
        await using var bobsInboxes = await attacker.SubscribeCoreAsync<byte[]>("_INBOX.bob.>");
        await attacker.PingAsync();
        await using var bob = await nats.ConnectAsync("bob");
        await using var asker = await nats.ConnectAsync("asker");

        var bobsReply = await bob.RequestAsync(Text("edge/questions/bob", "bob's question"), Timeout, default);
        var askersReply = await asker.RequestAsync(Text("edge/questions/asker", "asker's question"), Timeout, default);
        var overheard = 0;
        foreach (var sub in (INatsSub<byte[]>[])[everyInbox, bobsInboxes])
            while (sub.Msgs.TryRead(out _)) overheard++;

        output.WriteLine($"replies: '{Of(bobsReply)}', '{Of(askersReply)}' on {string.Join(", ", inboxes)}; overheard by the attacker: {overheard}");
        nats.AssertViolations("Subject \"_INBOX.>\"", "Subject \"_INBOX.bob.>\"");
        Assert.Equal("answer to bob's question", Of(bobsReply));
        Assert.Equal("answer to asker's question", Of(askersReply));
        Assert.Collection(inboxes.Order(), a => Assert.StartsWith("_INBOX.asker.", a), b => Assert.StartsWith("_INBOX.bob.", b));
        Assert.Equal(0, overheard);
    }

    [Fact]
    public async Task Every_role_works_over_JetStream_with_the_shipped_authorization()
    {
        await using var nats = await ShippedNats.StartAsync();
        // The detector's transport creates the streams, which the camera's then finds.
        await using var detector = await nats.ConnectAsync("detector");
        await using var camera = await nats.ConnectAsync("cam1");
        await using var scene = await nats.ConnectAsync("scene");
        await using var llm = await nats.ConnectAsync("llm");
        await using var asker = await nats.ConnectAsync("asker");
        await using var frames = await detector.SubscribeAsync(new SubscriptionRequest("edge/frames/+") { Delivery = Delivery.AtMostOnce }, default);
        await using var detections = await scene.SubscribeAsync(new SubscriptionRequest("edge/detections/+"), default);
        await using var questions = await llm.SubscribeAsync(new SubscriptionRequest("edge/questions/#") { Durable = "llm", ManualAck = true }, default);
        await using var answers = await asker.SubscribeAsync(new SubscriptionRequest("edge/answers/asker") { Durable = "answers" }, default);

        await camera.PublishAsync(Text("edge/frames/cam1", "frame") with { Delivery = Delivery.AtMostOnce }, default);
        var frame = (await Receive.ExactlyAsync(frames, 1, Timeout))[0];
        await detector.PublishAsync(Text("edge/detections/cam1", "detections"), default);
        var detection = (await Receive.ExactlyAsync(detections, 1, Timeout))[0];
        await scene.PublishAsync(Text("edge/scene/cam1", "scene") with { Retain = true }, default);
        await scene.PublishAsync(Text("edge/events/cam1", "event"), default);
        // Subscribed after the publish: the retained scene comes from the retained stream, through a replay consumer.
        await using var states = await llm.SubscribeAsync(new SubscriptionRequest("edge/scene/+"), default);
        var state = (await Receive.ExactlyAsync(states, 1, Timeout))[0];
        await asker.PublishAsync(Text("edge/questions/asker", "how many?"), default);
        var question = (await Receive.ExactlyAsync(questions, 1, Timeout))[0];
        await llm.PublishAsync(Text("edge/answers/asker", "two"), default);
        await question.AckAsync();
        var answer = (await Receive.ExactlyAsync(answers, 1, Timeout))[0];
        // The dashboard role is for the browser page and stock clients: a bare client reads the stored history
        // through its own consumer.
        await using var dashboard = await nats.ConnectRawAsync("dashboard");
        var history = await new NatsJSContext(dashboard).CreateOrUpdateConsumerAsync("EDGE", Pull("dashboard~edge~#", "edge.>"));
        var seen = new List<string>();
        await foreach (var stored in history.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 100 })) seen.Add(stored.Subject);

        await using var admin = await nats.ConnectRawAsync("admin");
        var consumers = new List<string>();
        await foreach (var name in new NatsJSContext(admin).ListConsumerNamesAsync("EDGE")) consumers.Add(name);
        output.WriteLine($"frame '{Of(frame)}', detections '{Of(detection)}', retained scene '{Of(state)}' (retained: {state.Retained}), " +
            $"question '{Of(question)}', answer '{Of(answer)}'; the dashboard read {string.Join(", ", seen)}; " +
            $"consumers on EDGE: {string.Join(", ", consumers.Order())}");
        Assert.DoesNotContain("Violation", nats.Server.Output);
        Assert.True(state.Retained);
        Assert.Equal(("how many?", "two"), (Of(question), Of(answer)));
        Assert.Equal(["edge.events.cam1", "edge.questions.asker", "edge.answers.asker"], seen);
        Assert.Equal(["asker~edge~answers~asker", "dashboard~edge~#", "llm~edge~questions", "llm~edge~questions~#"], consumers.Order());
    }

    private static ConsumerConfig Pull(string name, string filter) => new(name)
    {
        DurableName = name, FilterSubject = filter, AckPolicy = ConsumerConfigAckPolicy.Explicit, DeliverPolicy = ConsumerConfigDeliverPolicy.All,
    };
}
