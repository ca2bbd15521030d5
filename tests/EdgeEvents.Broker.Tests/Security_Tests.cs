using System.Text;
using EdgeEvents.Pipeline.Security;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using MQTTnet;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>The shipped users and permissions, enforced by the embedded broker and by mosquitto with the shipped ACL file.</summary>
public sealed class Security_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task A_client_without_credentials_or_with_a_wrong_password_is_refused(string kind)
    {
        await using var broker = await SecureBroker.StartAsync(kind);

        var (anonymous, anonymousCode) = await broker.ConnectRawAsync(null);
        var (wrong, wrongCode) = await broker.ConnectRawAsync("cam1", "not-the-password");
        var (stranger, strangerCode) = await broker.ConnectRawAsync("mallory", "cam1-secret");
        var (camera, cameraCode) = await broker.ConnectRawAsync("cam1");

        output.WriteLine($"{kind}: anonymous {anonymousCode}, wrong password {wrongCode}, unknown user {strangerCode}, cam1 {cameraCode}");
        Assert.All([anonymousCode, wrongCode, strangerCode], verdict => Assert.Matches("BadUserNameOrPassword|NotAuthorized", verdict));
        Assert.Equal(nameof(MqttClientConnectResultCode.Success), cameraCode);
        Assert.False(anonymous.IsConnected || wrong.IsConnected || stranger.IsConnected);
        foreach (var client in new[] { anonymous, wrong, stranger, camera }) client.Dispose();
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task A_camera_publishes_its_own_frames_but_not_another_cameras_and_a_dashboard_publishes_nothing(string kind)
    {
        await using var broker = await SecureBroker.StartAsync(kind);
        await using var admin = await broker.ConnectAsync("admin");
        await using var everything = await admin.SubscribeAsync(new SubscriptionRequest("edge/#"), default);
        var (camera, _) = await broker.ConnectRawAsync("cam1");
        var (dashboard, _) = await broker.ConnectRawAsync("dashboard");
        using var _1 = camera;
        using var _2 = dashboard;

        var own = await camera.PublishAsync(Qos1("edge/frames/cam1", "own"));
        var forged = await camera.PublishAsync(Qos1("edge/frames/cam2", "forged"));
        var fromDashboard = await dashboard.PublishAsync(Qos1("edge/events/cam1", "from dashboard"));
        await camera.PublishAsync(Qos1("edge/frames/cam1", "own again"));

        output.WriteLine($"{kind}: own frame {own.ReasonCode}, forged frame {forged.ReasonCode}, dashboard publish {fromDashboard.ReasonCode}");
        var received = (await Receive.UntilQuietAsync(everything.Messages, TimeSpan.FromSeconds(2)))
            .Where(m => !m.Topic.StartsWith("edge/status/", StringComparison.Ordinal)).Select(m => Encoding.UTF8.GetString(m.Payload.Span));
        Assert.Equal(["own", "own again"], received);
        Assert.True(own.IsSuccess);
        Assert.Equal((MqttClientPublishReasonCode.NotAuthorized, MqttClientPublishReasonCode.NotAuthorized), (forged.ReasonCode, fromDashboard.ReasonCode));
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task A_camera_cannot_subscribe_to_answers_and_an_asker_reads_only_its_own(string kind)
    {
        await using var broker = await SecureBroker.StartAsync(kind);
        await using var camera = await broker.ConnectAsync("cam1");
        await using var asker = await broker.ConnectAsync("asker");
        await using var llm = await broker.ConnectAsync("llm");

        // The embedded broker refuses the SUBSCRIBE; mosquitto 2.0 grants it and then delivers nothing the ACL forbids.
        var snoops = new List<(IMessageSubscription Subscription, string Forbidden)>();
        foreach (var (transport, filter, forbidden) in new[] { (camera, "edge/answers/#", "edge/answers/"), (asker, "edge/answers/+", "edge/answers/someone-else"), (camera, "#", "edge/answers/") })
        {
            try
            {
                snoops.Add((await transport.SubscribeAsync(new SubscriptionRequest(filter), default), forbidden));
                output.WriteLine($"{kind}: subscription to {filter} granted; must deliver nothing");
                Assert.Equal(MqttTestBroker.Mosquitto, kind);
            }
            catch (InvalidOperationException refused)
            {
                output.WriteLine($"{kind}: {refused.Message}");
            }
        }

        await using var questions = await llm.SubscribeAsync(new SubscriptionRequest("edge/questions/#"), default);
        await using var answers = await asker.SubscribeAsync(new SubscriptionRequest("edge/answers/asker"), default);
        await asker.PublishAsync(new OutgoingMessage("edge/questions/asker", "how many people?"u8.ToArray()), default);
        var question = (await Receive.ExactlyAsync(questions, 1, Timeout))[0];
        await llm.PublishAsync(new OutgoingMessage("edge/answers/asker", "two"u8.ToArray()) { MessageId = "a1" }, default);
        await llm.PublishAsync(new OutgoingMessage("edge/answers/someone-else", "not yours"u8.ToArray()) { MessageId = "a2" }, default);
        Assert.Equal("how many people?", Encoding.UTF8.GetString(question.Payload.Span));
        Assert.Equal(["two"], (await Receive.UntilQuietAsync(answers.Messages, TimeSpan.FromSeconds(1))).Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        foreach (var (snoop, forbidden) in snoops)
        {
            Assert.DoesNotContain(await Receive.UntilQuietAsync(snoop.Messages, TimeSpan.FromMilliseconds(300)), m => m.Topic.StartsWith(forbidden, StringComparison.Ordinal));
            await snoop.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task An_asker_subscribing_to_everything_sys_or_a_shared_group_of_answers_reads_nothing_of_others(string kind)
    {
        await using var broker = await SecureBroker.StartAsync(kind);
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var (asker, _) = await broker.ConnectRawAsync("asker", received: e => { received.Enqueue(e.ApplicationMessage.Topic); return Task.CompletedTask; });
        using var _1 = asker;
        var verdicts = new List<string>();
        foreach (var filter in new[] { "#", "$SYS/#", "$share/g/edge/answers/#" })
        {
            var result = await asker.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            verdicts.Add($"{filter} {result.Items.Single().ResultCode}");
        }
        await using (var llm = await broker.ConnectAsync("llm"))
        {
            await llm.PublishAsync(new OutgoingMessage("edge/answers/bob", "for bob"u8.ToArray()) { Delivery = Delivery.AtLeastOnce }, default);
            await llm.PublishAsync(new OutgoingMessage("edge/status/llm", "online"u8.ToArray()) { Delivery = Delivery.AtLeastOnce }, default);
        }
        await Task.Delay(TimeSpan.FromSeconds(1));

        // The embedded broker refuses each SUBSCRIBE; mosquitto 2.0 grants them and then delivers nothing the ACL forbids.
        output.WriteLine($"{kind}: {string.Join("; ", verdicts)}; received {string.Join(", ", received)}");
        if (kind == MqttTestBroker.Embedded) Assert.All(verdicts, v => Assert.EndsWith(nameof(MqttClientSubscribeResultCode.NotAuthorized), v));
        Assert.Empty(received);
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task Tls_with_the_test_ca_works_and_a_wrong_ca_is_refused(string kind)
    {
        await using var broker = await SecureBroker.StartAsync(kind, tls: true);
        var options = TestTransports.Options(broker.Url) with { Username = "admin", Password = SecureBroker.Password("admin") };

        await using (var trusted = await TestTransports.ConnectAsync(options with { CaFile = broker.Certificates!.CaFile }))
        {
            await using var subscription = await trusted.SubscribeAsync(new SubscriptionRequest("edge/events/+"), default);
            await trusted.PublishAsync(new OutgoingMessage("edge/events/cam1", "over tls"u8.ToArray()), default);
            Assert.Equal("over tls", Encoding.UTF8.GetString((await Receive.ExactlyAsync(subscription, 1, Timeout))[0].Payload.Span));
        }

        var wrongCa = TransportFactoryFor(options with { CaFile = broker.Certificates.OtherCaFile });
        await using (wrongCa)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wrongCa.ConnectAsync(wait.Token));
            Assert.False(wrongCa.IsConnected);
        }
        var plain = TransportFactoryFor(options with { Broker = broker.Url.Replace("mqtts://", "mqtt://", StringComparison.Ordinal) });
        await using (plain)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => plain.ConnectAsync(wait.Token));
        }
    }

    [Fact]
    public void Passwords_never_appear_when_options_are_printed()
    {
        var options = new TransportOptions { Username = "cam1", Password = "hunter2-secret" };

        Assert.DoesNotContain("hunter2", options.ToString());
        Assert.Contains("Password = ***", options.ToString());
    }

    [Fact]
    public void Password_hashes_verify_in_mosquitto_format()
    {
        var hash = PasswordHash.Create("s3cret");

        Assert.StartsWith("$7$101$", hash);
        Assert.True(PasswordHash.Verify("s3cret", hash));
        Assert.False(PasswordHash.Verify("s3cret!", hash));
        Assert.False(PasswordHash.Verify("s3cret", "plain-text"));
    }

    [Theory]
    [InlineData("edge/frames/+", "edge/frames/cam1", true)]
    [InlineData("edge/frames/+", "edge/frames/+", true)]
    [InlineData("edge/frames/+", "edge/frames/#", false)]
    [InlineData("edge/frames/+", "edge/#", false)]
    [InlineData("edge/questions/#", "edge/questions/alice/x", true)]
    [InlineData("edge/answers/alice", "edge/answers/+", false)]
    [InlineData("#", "$share/g/edge/frames/+", true)]
    public void A_subscription_is_allowed_only_within_a_permitted_filter(string allowed, string requested, bool expected)
    {
        var rules = new[] { new TopicRule(TopicAccess.Subscribe, allowed) };
        Assert.Equal(expected, AccessPolicy.MaySubscribe(rules, requested));
    }

    private static IMessageTransport TransportFactoryFor(TransportOptions options) =>
        EdgeEvents.Pipeline.Hosting.TransportFactory.Create(options, "test", Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

    private static MqttApplicationMessage Qos1(string topic, string text) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(text)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
}
