using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using EdgeEvents.Broker;
using EdgeEvents.Pipeline.Security;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>The embedded broker's WebSocket listener: the same server as TCP, so the same sessions, interceptors and permissions.</summary>
public sealed class BrokerWebSockets_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_WebSocket_client_and_a_TCP_client_exchange_messages_and_share_a_shared_subscription()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0, WebSocketPort = 0 }, NullLogger.Instance);
        Assert.Matches(@"^ws://127\.0\.0\.1:\d+/mqtt$", broker.WebSocketUrl);
        using var web = await ConnectAsync(broker, webSocket: true);
        using var tcp = await ConnectAsync(broker, webSocket: false);
        Assert.Equal((MqttClientConnectResultCode.Success, MqttClientConnectResultCode.Success), (web.Connect, tcp.Connect));
        await web.Client.SubscribeAsync("edge/to-web");
        await tcp.Client.SubscribeAsync("edge/to-tcp");
        await web.Client.SubscribeAsync("$share/workers/edge/work");
        await tcp.Client.SubscribeAsync("$share/workers/edge/work");

        await tcp.Client.PublishStringAsync("edge/to-web", "from tcp", MqttQualityOfServiceLevel.AtLeastOnce);
        await web.Client.PublishStringAsync("edge/to-tcp", "from web", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("edge/to-web from tcp", await web.NextAsync());
        Assert.Equal("edge/to-tcp from web", await tcp.NextAsync());

        for (var i = 0; i < 10; i++) await tcp.Client.PublishStringAsync("edge/work", $"job {i}", MqttQualityOfServiceLevel.AtLeastOnce);
        var jobs = new List<string>();
        for (var i = 0; i < 5; i++) jobs.Add(await web.NextAsync());
        for (var i = 0; i < 5; i++) jobs.Add(await tcp.NextAsync());
        output.WriteLine(string.Join(", ", jobs));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"edge/work job {i}"), jobs.Order());
    }

    [Fact]
    public async Task The_broker_command_with_ws_port_prints_a_WebSocket_URL_that_a_client_connects_to()
    {
        await using var command = CliProcess.StartEdgeEvents("broker", "--port", "0", "--ws-port", "0");
        command.WaitForLine(l => l.StartsWith("mqtt://", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var url = command.WaitForLine(l => l.StartsWith("ws://", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        using var client = await ConnectAsync(url);
        await client.Client.SubscribeAsync("edge/echo");
        await client.Client.PublishStringAsync("edge/echo", "over ws", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("edge/echo over ws", await client.NextAsync());
    }

    [Fact]
    public async Task Over_WebSockets_a_client_without_credentials_is_refused_and_a_dashboard_may_read_but_not_publish()
    {
        var options = new BrokerOptions
        {
            Port = 0, WebSocketPort = 0,
            Users = new Dictionary<string, BrokerUser>
            {
                ["dashboard"] = new() { Role = BrokerRole.Dashboard, PasswordHash = PasswordHash.Create("dashboard-secret") },
                ["cam1"] = new() { Role = BrokerRole.Camera, PasswordHash = PasswordHash.Create("cam1-secret") },
            },
        };
        await using var broker = await EmbeddedBroker.StartAsync(options, NullLogger.Instance);

        using var anonymous = await ConnectAsync(broker, webSocket: true);
        using var wrong = await ConnectAsync(broker, webSocket: true, "dashboard", "cam1-secret");
        using var dashboard = await ConnectAsync(broker, webSocket: true, "dashboard", "dashboard-secret");
        using var camera = await ConnectAsync(broker, webSocket: false, "cam1", "cam1-secret");
        Assert.Equal((MqttClientConnectResultCode.Success, MqttClientConnectResultCode.Success), (dashboard.Connect, camera.Connect));
        var read = await dashboard.Client.SubscribeAsync("edge/#");
        var forged = await dashboard.Client.PublishStringAsync("edge/events/cam1", "from the dashboard", MqttQualityOfServiceLevel.AtLeastOnce);
        await camera.Client.PublishStringAsync("edge/frames/cam1", "frame", MqttQualityOfServiceLevel.AtLeastOnce);

        output.WriteLine($"anonymous: {anonymous.Connect}, wrong password: {wrong.Connect}, dashboard: {dashboard.Connect}, its publish: {forged.ReasonCode}");
        Assert.Equal((MqttClientConnectResultCode.BadUserNameOrPassword, MqttClientConnectResultCode.BadUserNameOrPassword), (anonymous.Connect, wrong.Connect));
        Assert.False(anonymous.Client.IsConnected || wrong.Client.IsConnected);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, read.Items.Single().ResultCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);
        Assert.Equal("edge/frames/cam1 frame", await dashboard.NextAsync());
    }

    [Fact]
    public async Task With_a_TLS_certificate_the_WebSocket_listener_speaks_wss_only()
    {
        using var certificates = TestCertificates.Create();
        var options = new BrokerOptions
        {
            Port = 0, TlsPort = 0, WebSocketPort = 0, PlainListener = false,
            TlsCertificateFile = certificates.ServerCertificateFile, TlsKeyFile = certificates.ServerKeyFile,
        };
        await using var broker = await EmbeddedBroker.StartAsync(options, NullLogger.Instance);
        Assert.Matches(@"^wss://127\.0\.0\.1:\d+/mqtt$", broker.WebSocketUrl);
        using var server = X509CertificateLoader.LoadCertificateFromFile(certificates.ServerCertificateFile);

        using var secure = await ConnectAsync(broker, webSocket: true, trusted: server);
        await secure.Client.SubscribeAsync("edge/echo");
        await secure.Client.PublishStringAsync("edge/echo", "over wss", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("edge/echo over wss", await secure.NextAsync());
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(broker.WebSocketUrl!.Replace("wss://", "ws://")));
    }

    /// <summary>A bare MQTTnet 5 client on the broker's TCP port or WebSocket URL; with <paramref name="trusted"/>, TLS trusting that certificate only.</summary>
    private static Task<TestClient> ConnectAsync(EmbeddedBroker broker, bool webSocket, string? user = null, string? password = null, X509Certificate2? trusted = null) =>
        webSocket ? ConnectAsync(broker.WebSocketUrl!, user, password, trusted) : ConnectAsync($"mqtt://127.0.0.1:{broker.Port}", user, password, trusted);

    /// <summary>A bare MQTTnet 5 client on <c>ws://</c>/<c>wss://</c> or <c>mqtt://host:port</c>.</summary>
    private static async Task<TestClient> ConnectAsync(string url, string? user = null, string? password = null, X509Certificate2? trusted = null)
    {
        var options = new MqttClientOptionsBuilder().WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"test-{Guid.NewGuid():N}"[..20]).WithTimeout(Timeout);
        var address = new Uri(url);
        if (address.Scheme == "mqtt") options.WithTcpServer(address.Host, address.Port);
        else options.WithWebSocketServer(o => o.WithUri(url));
        if (user is not null) options.WithCredentials(user, password);
        if (trusted is not null)
            options.WithTlsOptions(tls => tls.UseTls().WithCertificateValidationHandler(ctx => ctx.Certificate?.GetCertHashString() == trusted.Thumbprint));
        var client = new MqttClientFactory().CreateMqttClient();
        var received = Channel.CreateUnbounded<string>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            received.Writer.TryWrite($"{e.ApplicationMessage.Topic} {Encoding.UTF8.GetString(e.ApplicationMessage.Payload)}");
            return Task.CompletedTask;
        };
        // MQTTnet reports a refused CONNECT as the result, not as an exception.
        var result = await client.ConnectAsync(options.Build());
        return new TestClient(client, result.ResultCode, received.Reader);
    }

    private sealed record TestClient(IMqttClient Client, MqttClientConnectResultCode Connect, ChannelReader<string> Received) : IDisposable
    {
        public async Task<string> NextAsync()
        {
            using var cts = new CancellationTokenSource(Timeout);
            return await Received.ReadAsync(cts.Token);
        }

        public void Dispose() => Client.Dispose();
    }
}
