using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;
using static EdgeEvents.Broker.Tests.ShippedNats;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// nats-server with JetStream and the shipped authorization (issue 24): only the stream-owning roles (detector, scene,
/// llm) may create and update the <c>EDGE</c> and <c>EDGE_RETAINED</c> streams, nobody but the admin may purge or
/// delete them or their messages, and every other role's transport works against the streams as they are: it reads
/// them at connect and asks to change them only when they differ from what it wants.
/// </summary>
public sealed class NatsStreamIntegrity_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task An_asker_cannot_update_purge_or_delete_the_streams_and_the_stored_messages_stay()
    {
        await using var nats = await ShippedNats.StartAsync();
        await using var llm = await nats.ConnectAsync("llm");
        await using var asker = await nats.ConnectAsync("asker");
        await asker.PublishAsync(Text("edge/questions/asker", "how many?"), default);
        await using var admin = await nats.ConnectRawAsync("admin");
        var before = await StoredAsync(admin);

        await using var attacker = await nats.ConnectRawAsync("asker");
        var js = new NatsJSContext(attacker);
        var edge = (await js.GetStreamAsync("EDGE")).Info.Config;
        var retained = (await js.GetStreamAsync("EDGE_RETAINED")).Info.Config;
        // Together: each refusal is the API request's timeout, since the server drops the request.
        var refused = await Task.WhenAll(
            RefusedAsync(() => js.UpdateStreamAsync(edge with { MaxMsgs = 1 }).AsTask()),
            RefusedAsync(() => js.UpdateStreamAsync(retained with { MaxMsgs = 1 }).AsTask()),
            RefusedAsync(() => js.PurgeStreamAsync("EDGE", new StreamPurgeRequest()).AsTask()),
            RefusedAsync(() => js.DeleteStreamAsync("EDGE_RETAINED").AsTask()),
            RefusedAsync(() => js.DeleteMessageAsync("EDGE", new StreamMsgDeleteRequest { Seq = 1 }).AsTask()),
            RefusedAsync(() => js.CreateStreamAsync(new StreamConfig("EDGE2", ["edge.answers.>"])).AsTask()));
        var after = await StoredAsync(admin);

        output.WriteLine($"refused: {string.Join("; ", refused)}; stored (EDGE, EDGE_RETAINED) {before}, then {after}");
        nats.AssertViolations("$JS.API.STREAM.UPDATE.EDGE\"", "$JS.API.STREAM.UPDATE.EDGE_RETAINED",
            "$JS.API.STREAM.PURGE.EDGE", "$JS.API.STREAM.DELETE.EDGE_RETAINED", "$JS.API.STREAM.MSG.DELETE.EDGE",
            "$JS.API.STREAM.CREATE.EDGE2");
        Assert.True(before.Edge >= 1 && before.Retained >= 2, $"stored before: {before}");
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Askers_and_the_dashboard_work_against_existing_streams_without_asking_to_change_them()
    {
        await using var nats = await ShippedNats.StartAsync();
        await using var llm = await nats.ConnectAsync("llm");
        var durable = new SubscriptionRequest("edge/questions/#") { Durable = "llm", ManualAck = true };
        await using var questions = await llm.SubscribeAsync(durable, default);
        // Neither may create or update a stream: any such request would be a violation in the server's log.
        await using var asker = await nats.ConnectAsync("asker");
        await using var dashboard = await nats.ConnectAsync("dashboard");
        var own = new SubscriptionRequest("edge/answers/asker") { Durable = "answers" };
        await using var answers = await asker.SubscribeAsync(own, default);
        await using var seen = await dashboard.SubscribeAsync(new SubscriptionRequest("edge/answers/#"), default);

        await asker.PublishAsync(Text("edge/questions/asker", "how many?"), default);
        var question = (await Receive.ExactlyAsync(questions, 1, Timeout))[0];
        await llm.PublishAsync(Text("edge/answers/asker", "two"), default);
        await question.AckAsync();
        var answer = (await Receive.ExactlyAsync(answers, 1, Timeout))[0];
        var watched = (await Receive.ExactlyAsync(seen, 1, Timeout))[0];

        output.WriteLine($"question '{Of(question)}', answer '{Of(answer)}', dashboard saw '{Of(watched)}'");
        Assert.DoesNotContain("Violation", nats.Server.Output);
        Assert.Equal(("how many?", "two", "two"), (Of(question), Of(answer), Of(watched)));
    }

    [Fact]
    public async Task A_stream_owner_creates_the_streams_on_a_fresh_server_and_an_asker_waits_for_them()
    {
        await using var nats = await ShippedNats.StartAsync();
        var asker = nats.ConnectAsync("asker");
        await Until(() => nats.Server.Output.Contains("\"$JS.API.STREAM.CREATE.EDGE\"", StringComparison.Ordinal));
        Assert.False(asker.IsCompleted);

        await using var detector = await nats.ConnectAsync("detector");
        await using var connected = await asker;
        await using var admin = await nats.ConnectRawAsync("admin");
        var names = new List<string>();
        await foreach (var name in new NatsJSContext(admin).ListStreamNamesAsync()) names.Add(name);

        var violations = nats.Server.Output.Split('\n').Where(l => l.Contains("Violation", StringComparison.Ordinal));
        output.WriteLine($"streams: {string.Join(", ", names.Order())}; violations: " +
            string.Join(" | ", violations.Select(l => l[l.IndexOf("User", StringComparison.Ordinal)..])));
        Assert.Equal(["EDGE", "EDGE_RETAINED"], names.Order());
        Assert.True(connected.IsConnected);
    }

    [Fact]
    public async Task A_camera_that_does_not_manage_streams_waits_for_an_owner_without_a_refused_request()
    {
        await using var nats = await ShippedNats.StartAsync();
        var log = new ListLogger();
        var camera = nats.ConnectAsync("cam1", loggers: log, manageStreams: false);
        await Until(() => log.At(LogLevel.Warning)
            .Any(l => l.Contains("waiting for a stream owner", StringComparison.Ordinal)));
        Assert.False(camera.IsCompleted);

        await using var detector = await nats.ConnectAsync("detector");
        await using var connected = await camera;

        Assert.True(connected.IsConnected);
        Assert.DoesNotContain("Violation", nats.Server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_update_leaves_the_stream_as_it_is_and_the_transport_uses_it()
    {
        await using var nats = await ShippedNats.StartAsync();
        await using (await nats.ConnectAsync("scene")) { }
        await using var admin = await nats.ConnectRawAsync("admin");
        var js = new NatsJSContext(admin);
        var edge = (await js.GetStreamAsync("EDGE")).Info.Config;
        await js.UpdateStreamAsync(edge with { MaxBytes = 1L << 20 });

        // The asker wants 1 GiB, asks for it (refused), and goes on with 1 MiB.
        var log = new ListLogger();
        await using var asker = await nats.ConnectAsync("asker", loggers: log);
        await asker.PublishAsync(Text("edge/questions/asker", "how many?"), default);
        var stream = (await js.GetStreamAsync("EDGE")).Info;

        var errors = log.At(LogLevel.Error);
        output.WriteLine($"EDGE max bytes {stream.Config.MaxBytes}, messages {stream.State.Messages}; " +
            $"logged: {string.Join(" | ", errors)}");
        nats.AssertViolations("$JS.API.STREAM.UPDATE.EDGE\"");
        Assert.Equal(1L << 20, stream.Config.MaxBytes);
        Assert.Equal(1, stream.State.Messages);
        Assert.Contains("$JS.API.STREAM.UPDATE.EDGE", Assert.Single(errors));
    }

    /// <summary>Messages in EDGE and EDGE_RETAINED, as the admin sees them.</summary>
    private static async Task<(long Edge, long Retained)> StoredAsync(NATS.Client.Core.NatsConnection admin)
    {
        var js = new NatsJSContext(admin);
        async Task<long> Messages(string stream) => (await js.GetStreamAsync(stream)).Info.State.Messages;
        return (await Messages("EDGE"), await Messages("EDGE_RETAINED"));
    }

    private static async Task Until(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition()) await Task.Delay(50, timeout.Token);
    }
}
