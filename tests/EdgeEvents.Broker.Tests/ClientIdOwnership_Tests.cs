using System.Collections.Concurrent;
using System.Text;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Security;
using EdgeEvents.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// Client ids belong to users (issue 24, finding 1): with the shipped users, a client id whose session another user
/// holds is refused, connected or not, in memory or restored from the store; a restored session is re-authorised
/// against the user who resumes it. mosquitto cannot refuse the takeover; what it still guarantees is tested too.
/// </summary>
public sealed class ClientIdOwnership_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task Another_users_client_id_is_refused_while_its_session_is_connected_or_waiting(MqttProtocolVersion version)
    {
        await using var broker = await SecureBroker.StartAsync(MqttTestBroker.Embedded);
        var received = new ConcurrentQueue<string>();
        var (owner, ownerVerdict) = await broker.ConnectRawAsync("dashboard", clientId: "dashboard-session", version: version, sessionExpiry: Hour,
            received: e => { received.Enqueue(e.ApplicationMessage.Topic); return Task.CompletedTask; });
        await owner.SubscribeAsync("edge/#", MqttQualityOfServiceLevel.AtLeastOnce);

        var (whileConnected, connectedVerdict) = await broker.ConnectRawAsync("asker", clientId: "dashboard-session", version: version, sessionExpiry: Hour);
        var (cleanStart, cleanVerdict) = await broker.ConnectRawAsync("asker", clientId: "dashboard-session", version: version);
        await using (var admin = await broker.ConnectAsync("admin"))
            await admin.PublishAsync(new("edge/events/cam1", "after the attempts"u8.ToArray()), default);
        await Receive.UntilAsync(() => received.Contains("edge/events/cam1"), Timeout);
        var ownerStayed = owner.IsConnected;
        await owner.DisconnectAsync();
        var (whileWaiting, waitingVerdict) = await broker.ConnectRawAsync("asker", clientId: "dashboard-session", version: version, sessionExpiry: Hour);
        var (back, backVerdict) = await broker.ConnectRawAsync("dashboard", clientId: "dashboard-session", version: version, sessionExpiry: Hour);
        var (ownId, ownVerdict) = await broker.ConnectRawAsync("asker", clientId: "asker-session", version: version, sessionExpiry: Hour);

        output.WriteLine($"{version}: owner {ownerVerdict}; asker with the owner's id while it is connected: {connectedVerdict}, with a clean start: {cleanVerdict}, " +
            $"while the session waits: {waitingVerdict}; owner back {backVerdict}; asker with its own id {ownVerdict}");
        Assert.All([connectedVerdict, cleanVerdict, waitingVerdict], verdict => Assert.Matches("ClientIdentifierNotValid|IdentifierRejected", verdict));
        Assert.True(ownerStayed, "The owner was pushed off its connection.");
        Assert.Equal((nameof(MqttClientConnectResultCode.Success), nameof(MqttClientConnectResultCode.Success)), (backVerdict, ownVerdict));
        Assert.False(whileConnected.IsConnected || cleanStart.IsConnected || whileWaiting.IsConnected);
        foreach (var client in new[] { owner, whileConnected, cleanStart, whileWaiting, back, ownId }) client.Dispose();
    }

    [Fact]
    public void Default_client_ids_include_the_user_so_two_users_never_compete_for_one()
    {
        var host = Environment.MachineName.ToLowerInvariant();

        Assert.Equal($"detector-detector-{host}", TransportFactory.DefaultClientId("detector", "detector"));
        Assert.Equal($"ask-bob-{host}", TransportFactory.DefaultClientId("ask", "Bob"));
        Assert.Equal($"ask-{host}", TransportFactory.DefaultClientId("ask", null));
    }

    [Fact]
    public async Task A_client_id_is_free_again_once_its_clean_session_has_ended()
    {
        await using var broker = await SecureBroker.StartAsync(MqttTestBroker.Embedded);
        var (first, firstVerdict) = await broker.ConnectRawAsync("cam1", clientId: "shared-bench-id");
        await first.DisconnectAsync();

        var (second, secondVerdict) = await broker.ConnectRawAsync("cam2", clientId: "shared-bench-id");

        Assert.Equal((nameof(MqttClientConnectResultCode.Success), nameof(MqttClientConnectResultCode.Success)), (firstVerdict, secondVerdict));
        first.Dispose();
        second.Dispose();
    }

    [Fact]
    public async Task A_restored_session_keeps_its_owner_and_is_reauthorised_against_the_user_who_resumes_it()
    {
        await using var broker = await SecureBroker.StartAsync(MqttTestBroker.Embedded, durable: true);
        var (away, _) = await broker.ConnectRawAsync("dashboard", clientId: "dashboard-durable", sessionExpiry: Hour);
        await away.SubscribeAsync("edge/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await away.DisconnectAsync();
        away.Dispose();

        await broker.RestartAsync();
        var (intruder, intruderVerdict) = await broker.ConnectRawAsync("asker", clientId: "dashboard-durable", sessionExpiry: Hour);
        intruder.Dispose();
        // The dashboard user is demoted to an asker while its session waits: what it may no longer read is not restored.
        await broker.RestartAsync(o => o with { Users = new Dictionary<string, BrokerUser>(o.Users) { ["dashboard"] = new() { Role = BrokerRole.Asker } } });
        await using (var llm = await broker.ConnectAsync("llm"))
        {
            await llm.PublishAsync(Qos1("edge/answers/bob", "for bob"), default);
            await llm.PublishAsync(Qos1("edge/answers/dashboard", "for the dashboard user"), default);
        }
        var received = new ConcurrentQueue<string>();
        var (back, backVerdict) = await broker.ConnectRawAsync("dashboard", clientId: "dashboard-durable", sessionExpiry: Hour,
            received: e => { received.Enqueue(e.ApplicationMessage.ConvertPayloadToString()); return Task.CompletedTask; });
        await Receive.UntilAsync(() => !received.IsEmpty, Timeout);
        await using (var llm = await broker.ConnectAsync("llm"))
            await llm.PublishAsync(Qos1("edge/answers/bob", "for bob, later"), default);
        await Task.Delay(TimeSpan.FromSeconds(1));

        output.WriteLine($"asker with the stored session's id after a restart: {intruderVerdict}; owner back: {backVerdict}; received {string.Join(", ", received)}");
        Assert.Matches("ClientIdentifierNotValid", intruderVerdict);
        Assert.Equal(nameof(MqttClientConnectResultCode.Success), backVerdict);
        Assert.Equal(["for the dashboard user"], received);
        back.Dispose();
    }

    [Fact]
    public async Task On_mosquitto_with_the_shipped_acl_a_taken_over_session_delivers_only_what_the_intruder_may_read()
    {
        // mosquitto 2.0.11 cannot refuse another user's client id (use_username_as_clientid would force one connection
        // per user, which replicas of a component cannot share); it checks read permission at delivery, per connection.
        await using var broker = await SecureBroker.StartAsync(MqttTestBroker.Mosquitto);
        var (owner, _) = await broker.ConnectRawAsync("dashboard", clientId: "dashboard-session", sessionExpiry: Hour);
        await owner.SubscribeAsync("edge/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await owner.DisconnectAsync();
        owner.Dispose();
        await using (var llm = await broker.ConnectAsync("llm"))
            await llm.PublishAsync(Qos1("edge/answers/bob", "queued for the dashboard"), default);

        var received = new ConcurrentQueue<string>();
        var (intruder, verdict) = await broker.ConnectRawAsync("asker", clientId: "dashboard-session", sessionExpiry: Hour,
            received: e => { received.Enqueue(e.ApplicationMessage.Topic); return Task.CompletedTask; });
        await using (var llm = await broker.ConnectAsync("llm"))
        {
            await llm.PublishAsync(Qos1("edge/answers/bob", "live for bob"), default);
            await llm.PublishAsync(Qos1("edge/answers/asker", "for the asker"), default);
        }
        await Receive.UntilAsync(() => received.Contains("edge/answers/asker"), Timeout);
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        output.WriteLine($"mosquitto: asker with the dashboard's client id: {verdict}; received {string.Join(", ", received)}");
        Assert.DoesNotContain("edge/answers/bob", received);
        intruder.Dispose();
    }

    private static EdgeEvents.Pipeline.Transport.OutgoingMessage Qos1(string topic, string text) =>
        new(topic, Encoding.UTF8.GetBytes(text)) { Delivery = EdgeEvents.Pipeline.Transport.Delivery.AtLeastOnce, MessageId = text };
}
