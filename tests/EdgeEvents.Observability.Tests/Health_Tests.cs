using System.Net;
using EdgeEvents.Broker;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Observability.Tests;

public sealed class Health_Tests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    // "Within a few seconds" of the broker going away or coming back.
    private static readonly TimeSpan FewSeconds = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Readyz_fails_within_seconds_of_losing_the_broker_and_recovers_when_it_returns_while_healthz_stays_healthy()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var link = new TcpProxy(broker.Port);
        await using var host = await ServiceHost.StartAsync("health-detector", link.MqttUrl);

        var ready = await host.WaitForAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        Assert.Contains("ok   broker:health-detector: connected (mqtt)", ready);

        link.Cut();
        var notReady = await host.WaitForAsync("/readyz", HttpStatusCode.ServiceUnavailable, FewSeconds);
        Assert.StartsWith("not ready\n", notReady);
        Assert.Contains("fail broker:health-detector: not connected to the mqtt broker", notReady);
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/healthz")).Status);

        link.Restore();
        await host.WaitForAsync("/readyz", HttpStatusCode.OK, FewSeconds);
        Assert.Equal((HttpStatusCode.OK, "alive\n"), await host.GetAsync("/healthz"));
    }

    [Fact]
    public async Task Readyz_names_the_worker_check_that_fails_until_it_passes()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        var model = new ModelState();
        await using var host = await ServiceHost.StartAsync("check-detector", broker.Url,
            configure: services => services
                .AddSingleton(model)
                .AddReadinessCheck<ModelState>("model",
                    m => m.Warm ? ReadinessResult.Ready("warmed up") : ReadinessResult.NotReady("warming up")));

        // Connected but the model is not warm yet: not ready, and the body says which check failed.
        await host.WaitForAsync("/readyz", HttpStatusCode.ServiceUnavailable, StartTimeout);
        var body = await WaitForBodyAsync(host, "ok   broker:check-detector");
        Assert.Contains("ok   broker:check-detector", body);
        Assert.Contains("fail model: warming up", body);

        model.Warm = true;
        var ready = await host.WaitForAsync("/readyz", HttpStatusCode.OK, FewSeconds);
        Assert.Contains("ok   model: warmed up", ready);
        Assert.Equal(HttpStatusCode.NotFound, (await host.GetAsync("/nothing")).Status);
    }

    [Fact]
    public async Task The_health_listener_binds_loopback_by_default_and_every_address_when_told()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var local = await ServiceHost.StartAsync("bind-default", broker.Url);
        await using var open = await ServiceHost.StartAsync("bind-all", broker.Url,
            settings: new Dictionary<string, string?> { ["Health:BindAddress"] = "0.0.0.0" });
        await local.WaitForAsync("/healthz", HttpStatusCode.OK, StartTimeout);
        await open.WaitForAsync("/healthz", HttpStatusCode.OK, StartTimeout);

        // 127.0.0.2 is another address of this machine: only a listener on every address answers there.
        using var http = new HttpClient { Timeout = FewSeconds };
        var fromElsewhere =
            await Record.ExceptionAsync(() => http.GetStringAsync($"http://127.0.0.2:{local.Port}/healthz"));
        Assert.IsType<HttpRequestException>(fromElsewhere);
        Assert.Equal("alive\n", await http.GetStringAsync($"http://127.0.0.2:{open.Port}/healthz"));
    }

    private static async Task<string> WaitForBodyAsync(ServiceHost host, string text)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            var (_, body) = await host.GetAsync("/readyz");
            if (body.Contains(text, StringComparison.Ordinal) || DateTime.UtcNow > deadline) return body;
            await Task.Delay(100);
        }
    }

    private sealed class ModelState
    {
        public volatile bool Warm;
    }
}
