using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Llm;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace EdgeEvents.Fleet.Tests;

/// <summary><c>edge-events llm --fleet</c> at a hub answers from every site's retained scene and names the sites.</summary>
public sealed class FleetQuestions_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_fleet_question_at_the_hub_is_answered_from_every_sites_scene_naming_the_sites()
    {
        await using var hub = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var sites = await TestTransports.ConnectAsync(hub.Url, component: "sites");
        var fleet = new FleetTopics();
        await PublishSceneAsync(sites, fleet.ForSite("plant-a"), "cam1", people: 2);
        await PublishSceneAsync(sites, fleet.ForSite("plant-b"), "cam2", people: 1);
        await using var llmStatus = await sites.SubscribeAsync(new SubscriptionRequest(fleet.Local.Status("llm")), default);

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Broker"] = hub.Url, ["Transport:ClientId"] = "hub-llm", ["Transport:PersistentSession"] = "false",
            ["Llm:ModelPath"] = TestData.Model("stories260K.gguf"), ["Llm:ContextSize"] = "512", ["Llm:MaxTokens"] = "8", ["Llm:Parallelism"] = "1",
            ["Llm:Fleet"] = "true",
        });
        builder.Services.AddLlmWorker(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<LlmWorker>().Ready.WaitAsync(Timeout);
        // Ready says the model is loaded; "online" says its subscriptions are in place (sent before the status).
        using (var online = new CancellationTokenSource(Timeout))
            while (Encoding.UTF8.GetString((await llmStatus.Messages.ReadAsync(online.Token)).Payload.Span) != StatusPayloads.Online) { }

        var question = Encoding.UTF8.GetBytes("""{"id":"q-fleet-1","text":"How many people are there?"}""");
        var reply = await sites.RequestAsync(new OutgoingMessage(fleet.Local.Questions("operator"), question)
        {
            ContentType = ContentTypes.Json, ResponseTopic = fleet.Local.Answers("operator"),
        }, Timeout, default);
        var answer = MessageCodec.Deserialize<Answer>(reply.Payload, ContentTypes.Json);
        await host.StopAsync();

        output.WriteLine($"facts answer: {answer.FactsAnswer}");
        Assert.Equal(["plant-a/cam1", "plant-b/cam2"], answer.Facts.Select(f => f.Camera).Order());
        Assert.Contains("2 on plant-a/cam1", answer.FactsAnswer);
        Assert.Contains("1 on plant-b/cam2", answer.FactsAnswer);
    }

    private static async Task PublishSceneAsync(IMessageTransport transport, TopicScheme site, string camera, int people)
    {
        var state = new SceneState
        {
            Camera = camera,
            Counts = new Dictionary<string, int> { ["person"] = people },
            Frame = new FrameRef { Sequence = 1, CapturedAt = DateTimeOffset.UtcNow },
        };
        await transport.PublishAsync(new OutgoingMessage(site.Scene(camera), MessageCodec.Serialize(state, PayloadFormat.Json))
        {
            ContentType = ContentTypes.Json, Retain = true, MessageId = state.Id,
        }, default);
    }
}
