using System.Text;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// nats-server with the shipped authorization (issue 24, finding 1 on NATS). NATS has no sessions to take over: a
/// connection's name is a label, not an identity, and what a connection may do comes from its user's permissions
/// alone. So a connection named like the LLM worker but logged in as an asker reads and writes only what askers may.
/// </summary>
public sealed class NatsAuthorization_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_connection_named_like_the_llm_worker_but_logged_in_as_an_asker_gets_only_the_askers_permissions()
    {
        var folder = Directory.CreateTempSubdirectory("edge-nats-shipped-");
        try
        {
            var config = SecureBroker.ShippedNatsConfig(folder.FullName);
            await using var server = await NatsServer.StartNewAsync(jetStream: false, extraArguments: $"-c {config}");
            var llmId = TransportFactory.DefaultClientId("llm", "llm");
            await using var llm = await ConnectAsync(server, "llm", llmId);
            await using var intruder = await ConnectAsync(server, "asker", llmId);
            await using var admin = await ConnectAsync(server, "admin", null);
            await using var questions = await llm.SubscribeAsync(new SubscriptionRequest("edge/questions/#"), default);
            await using var stolenQuestions = await intruder.SubscribeAsync(new SubscriptionRequest("edge/questions/#"), default);
            await using var ownAnswers = await intruder.SubscribeAsync(new SubscriptionRequest("edge/answers/asker"), default);
            await using var bobsAnswers = await admin.SubscribeAsync(new SubscriptionRequest("edge/answers/bob"), default);

            await admin.PublishAsync(Text("edge/questions/bob", "bob's question"), default);
            await intruder.PublishAsync(Text("edge/answers/bob", "forged answer"), default);
            await intruder.PublishAsync(Text("edge/questions/asker", "asker's question"), default);
            var received = await Receive.ExactlyAsync(questions, 2, Timeout);
            await llm.PublishAsync(Text("edge/answers/asker", "asker's answer"), default);
            var answer = (await Receive.ExactlyAsync(ownAnswers, 1, Timeout))[0];

            var stolen = await Receive.UntilQuietAsync(stolenQuestions.Messages, TimeSpan.FromSeconds(1));
            var forged = await Receive.UntilQuietAsync(bobsAnswers.Messages, TimeSpan.FromMilliseconds(300));
            output.WriteLine($"nats: llm received {string.Join(", ", received.Select(Of))}; the asker named {llmId} received {stolen.Count} questions, " +
                $"its own answer '{Of(answer)}'; forged answers delivered to bob: {forged.Count}");
            Assert.Equal(["asker's question", "bob's question"], received.Select(Of).Order());
            Assert.Empty(stolen);
            Assert.Empty(forged);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static Task<IMessageTransport> ConnectAsync(NatsServer server, string user, string? clientId) =>
        TestTransports.ConnectAsync(TestTransports.Options(server.Url, clientId) with { Username = user, Password = SecureBroker.Password(user) }, component: user);

    private static OutgoingMessage Text(string topic, string text) => new(topic, Encoding.UTF8.GetBytes(text)) { MessageId = text };

    private static string Of(ReceivedMessage message) => Encoding.UTF8.GetString(message.Payload.Span);
}
