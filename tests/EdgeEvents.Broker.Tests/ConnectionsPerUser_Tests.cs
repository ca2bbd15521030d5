using EdgeEvents.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>Issue 24, broker limits: <c>Broker:MaxConnectionsPerUser</c> on the embedded broker with the shipped users.</summary>
public sealed class ConnectionsPerUser_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task A_user_over_its_connection_limit_is_refused_while_others_and_reconnects_are_not(MqttProtocolVersion version)
    {
        await using var broker = await SecureBroker.StartAsync(MqttTestBroker.Embedded, change: o => o with { MaxConnectionsPerUser = 2 });
        var (first, firstVerdict) = await broker.ConnectRawAsync("asker", clientId: "asker-1", version: version);
        var (second, secondVerdict) = await broker.ConnectRawAsync("asker", clientId: "asker-2", version: version);
        var (third, thirdVerdict) = await broker.ConnectRawAsync("asker", clientId: "asker-3", version: version);
        var (camera, cameraVerdict) = await broker.ConnectRawAsync("cam1", version: version);
        // The same client id again replaces its connection: not a third one.
        var (again, againVerdict) = await broker.ConnectRawAsync("asker", clientId: "asker-2", version: version);
        await first.DisconnectAsync();
        // Counted down once the broker has seen the disconnect.
        var (later, laterVerdict) = (third, thirdVerdict);
        var deadline = DateTime.UtcNow + Timeout;
        while (laterVerdict != nameof(MqttClientConnectResultCode.Success) && DateTime.UtcNow < deadline)
        {
            later.Dispose();
            (later, laterVerdict) = await broker.ConnectRawAsync("asker", clientId: "asker-3", version: version);
        }

        output.WriteLine($"{version}: asker 1 {firstVerdict}, 2 {secondVerdict}, 3 {thirdVerdict}; cam1 {cameraVerdict}; " +
            $"asker 2 again {againVerdict}; asker 3 after asker 1 left {laterVerdict}");
        Assert.Equal([nameof(MqttClientConnectResultCode.Success)], new[] { firstVerdict, secondVerdict, cameraVerdict, againVerdict, laterVerdict }.Distinct());
        Assert.Matches(version == MqttProtocolVersion.V500 ? "QuotaExceeded" : "ServerUnavailable", thirdVerdict);
        Assert.False(third.IsConnected);
        foreach (var client in new[] { first, second, third, camera, again, later }) client.Dispose();
    }
}
