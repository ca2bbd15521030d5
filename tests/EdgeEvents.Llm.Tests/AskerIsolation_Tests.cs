using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Security;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Llm.Tests;

/// <summary>
/// Issue 24, the LLM worker's part: answers go only where the asker may read, question ids are scoped to their asker,
/// old questions expire, and a long queue is announced. Real broker, real worker and model.
/// </summary>
public sealed class AskerIsolation_Tests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static OutgoingMessage Question(string asker, string json) =>
        new($"edge/questions/{asker}", Encoding.UTF8.GetBytes(json)) { ContentType = ContentTypes.Json };

    /// <summary>
    /// Findings 3 and 4: another asker's answer topic, or a topic outside the answers tree, is refused.
    /// </summary>
    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task Answers_aimed_at_another_askers_topic_or_outside_the_prefix_are_refused_on_the_askers_own_topic(
        string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var worker = await LlmWorkerHost.StartAsync(broker.Url);
        await using var client = await TestTransports.ConnectAsync(broker.Url);
        var everything = await LlmWorkerHost.WatchAsync(client, "#", deduplicate: false);
        var mallory = await LlmWorkerHost.WatchAsync(client, "edge/answers/mallory", deduplicate: false);

        await client.PublishAsync(new OutgoingMessage("edge/questions/mallory", "hi"u8.ToArray())
        {
            ResponseTopic = "edge/answers/bob", CorrelationData = new byte[] { 4, 2 },
        }, default);
        await client.PublishAsync(
            Question("mallory", """{"id":"m2","text":"hi","replyTo":"edge/answers/bob/partial"}"""), default);
        await client.PublishAsync(new OutgoingMessage("edge/questions/mallory", "hi"u8.ToArray())
        {
            ResponseTopic = "zigbee2mqtt/lock/set",
        }, default);
        // The legitimate path still works: a topic below the asker's own.
        await client.PublishAsync(
            Question("mallory", """{"id":"m4","text":"hi","replyTo":"edge/answers/mallory/kitchen"}"""), default);

        var refused = (await Receive.ExactlyAsync(mallory, 3, LlmWorker_Tests.Timeout))
            .Select(LlmWorker_Tests.Decode)
            .ToList();
        Assert.All(refused, a => Assert.Equal(AnswerStatus.Rejected, a.Status));
        Assert.All(refused, a => Assert.Contains("only the asker's own 'edge/answers/mallory'", a.Reason));
        var all = await Receive.UntilQuietAsync(everything.Messages, TimeSpan.FromSeconds(2));
        Assert.Contains(all, m => m.Topic == "edge/answers/mallory/kitchen");
        Assert.DoesNotContain(all, m => m.Topic.StartsWith("edge/answers/bob", StringComparison.Ordinal)
            || m.Topic.StartsWith("zigbee2mqtt", StringComparison.Ordinal));
    }

    /// <summary>
    /// Finding 3 on NATS (JetStream, the shipped policy for the llm user and askers asker and bob): a request's reply
    /// reaches the asker's own inbox; a reply inbox of another user's is refused on the asker's own topic.
    /// </summary>
    [Fact]
    public async Task On_nats_an_asker_gets_its_answer_on_its_own_inbox_and_cannot_aim_it_at_another_users()
    {
        var folder = Directory.CreateTempSubdirectory("edge-llm-nats-");
        try
        {
            var users = new Dictionary<string, BrokerRole>
            {
                ["llm"] = BrokerRole.Llm,
                ["asker"] = BrokerRole.Asker,
                ["bob"] = BrokerRole.Asker,
            };
            var config = Path.Combine(folder.FullName, "nats-server.conf");
            File.WriteAllText(config, AccessPolicy.RenderNatsAuthorization(users, "edge"));
            foreach (var user in users.Keys)
                Environment.SetEnvironmentVariable(AccessPolicy.PasswordVariable(user), $"{user}-secret");
            await using var server = await NatsServer.StartNewAsync(jetStream: true, extraArguments: $"-c {config}");
            await using var worker = await LlmWorkerHost.StartAsync(server.Url,
                settings: new Dictionary<string, string?>
                {
                    ["Transport:Username"] = "llm",
                    ["Transport:Password"] = "llm-secret",
                });
            await using var asker = await LoginAsync(server, "asker");
            await using var bob = await LoginAsync(server, "bob");
            var own = await LlmWorkerHost.WatchAsync(asker, "edge/answers/asker", deduplicate: false);
            var bobsInboxes = await LlmWorkerHost.WatchAsync(bob, "_INBOX.bob.>", deduplicate: false);

            var reply = await asker.RequestAsync(
                Question("asker", """{"id":"a1","text":"What do you see?"}"""), LlmWorker_Tests.Timeout, default);
            await asker.PublishAsync(
                Question("asker", """{"id":"a2","text":"hi"}""") with { ResponseTopic = "_INBOX.bob.guessed" },
                default);
            // Its own topic gets the first answer's copy, then the refusal (under the message's id: the JSON is not
            // read).
            Answer? refused = null;
            while (refused is null)
            {
                refused = (await Receive.ExactlyAsync(own, 1, LlmWorker_Tests.Timeout))
                    .Select(LlmWorker_Tests.Decode)
                    .FirstOrDefault(a => a.Status != AnswerStatus.Ok);
            }
            var overheard = await Receive.UntilQuietAsync(bobsInboxes.Messages, TimeSpan.FromSeconds(1));

            var answer = LlmWorker_Tests.Decode(reply);
            output.WriteLine($"reply on {reply.Topic}: {answer.Status}; " +
                $"aimed at bob's inbox: {refused.Status} ({refused.Reason}); bob's inboxes got {overheard.Count}");
            Assert.StartsWith("_INBOX.asker.", reply.Topic);
            Assert.Equal(("a1", AnswerStatus.Ok), (answer.QuestionId, answer.Status));
            Assert.Equal(AnswerStatus.Rejected, refused.Status);
            Assert.Contains("the asker's own '_INBOX.asker.", refused.Reason);
            Assert.Empty(overheard);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static Task<IMessageTransport> LoginAsync(NatsServer server, string user) =>
        TestTransports.ConnectAsync(
            TestTransports.Options(server.Url) with { Username = user, Password = $"{user}-secret" }, component: user);

    /// <summary>
    /// Finding 5: the same id from two askers is two questions; the same id again from one asker gets its answer again.
    /// </summary>
    [Fact]
    public async Task Two_askers_may_use_one_question_id_and_a_repeat_within_one_asker_gets_the_same_answer_again()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var worker = await LlmWorkerHost.StartAsync(broker.Url);
        await using var client = await TestTransports.ConnectAsync(broker.Url);
        var answers = await LlmWorkerHost.WatchAsync(client, "edge/answers/+", deduplicate: false);

        await client.PublishAsync(Question("alice", """{"id":"1","text":"Any cars?"}"""), default);
        await client.PublishAsync(Question("bob", """{"id":"1","text":"Any dogs?"}"""), default);
        var first = (await Receive.ExactlyAsync(answers, 2, LlmWorker_Tests.Timeout))
            .Select(LlmWorker_Tests.Decode)
            .ToList();
        await client.PublishAsync(Question("alice", """{"id":"1","text":"Any cars?"}"""), default);
        var again = LlmWorker_Tests.Decode((await Receive.ExactlyAsync(answers, 1, LlmWorker_Tests.Timeout))[0]);

        Assert.Equal(["Any cars?", "Any dogs?"], first.OrderBy(a => a.Asker).Select(a => a.Question));
        Assert.Equal(2, first.Select(a => a.Id).Distinct().Count());
        var alices = first.Single(a => a.Asker == "alice");
        Assert.Equal((alices.Id, alices.Text, alices.CreatedAt), (again.Id, again.Text, again.CreatedAt));
    }

    [Fact]
    public async Task A_question_older_than_the_max_age_is_answered_expired_without_generating()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var worker = await LlmWorkerHost.StartAsync(broker.Url,
            settings: new Dictionary<string, string?> { ["Llm:QuestionMaxAge"] = "00:01:00" });
        await using var client = await TestTransports.ConnectAsync(broker.Url);
        var answers = await LlmWorkerHost.WatchAsync(client, "edge/answers/+", deduplicate: false);
        var old = DateTimeOffset.UtcNow.AddMinutes(-3).ToString("O");

        await client.PublishAsync(
            Question("carol", $$"""{"id":"old","text":"Any cars?","createdAt":"{{old}}"}"""), default);
        await client.PublishAsync(Question("carol", """{"id":"new","text":"Any cars?"}"""), default);
        var received = (await Receive.ExactlyAsync(answers, 2, LlmWorker_Tests.Timeout))
            .Select(LlmWorker_Tests.Decode)
            .OrderBy(a => a.QuestionId)
            .ToList();

        Assert.Equal(("new", AnswerStatus.Ok), (received[0].QuestionId, received[0].Status));
        Assert.Equal(("old", AnswerStatus.Expired, 0),
            (received[1].QuestionId, received[1].Status, received[1].CompletionTokens));
        Assert.Contains("longer than the 60 s allowed", received[1].Reason);
    }

    /// <summary>
    /// Finding 8: askers learn their place in a long queue, and a full queue answers <c>overloaded</c> at once.
    /// </summary>
    [Fact]
    public async Task A_long_queue_is_announced_with_positions_and_a_full_one_answers_overloaded()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var worker = await LlmWorkerHost.StartAsync(broker.Url, settings: new Dictionary<string, string?>
        {
            ["Llm:Parallelism"] = "1", ["Llm:QueueCapacity"] = "3", ["Llm:MaxTokens"] = "64",
        });
        await using var client = await TestTransports.ConnectAsync(broker.Url);
        var answers = await LlmWorkerHost.WatchAsync(client, "edge/answers/+", deduplicate: false);

        const int askers = 12;
        for (var i = 0; i < askers; i++)
        {
            await client.PublishAsync(
                Question($"a{i}", $$"""{"id":"q","text":"Question {{i}}: any cars?"}"""), default);
        }
        var received = new List<Answer>();
        while (received.Count(a => a.Status != AnswerStatus.Queued) < askers)
        {
            var next = await Receive.ExactlyAsync(answers, 1, LlmWorker_Tests.Timeout);
            received.AddRange(next.Select(LlmWorker_Tests.Decode));
        }

        var notices = received.Where(a => a.Status == AnswerStatus.Queued).ToList();
        var final = received.Where(a => a.Status != AnswerStatus.Queued).ToList();
        output.WriteLine(
            $"{askers} askers, queue of 3, one slot: {final.Count(a => a.Status == AnswerStatus.Ok)} ok, " +
            $"{final.Count(a => a.Status == AnswerStatus.Overloaded)} overloaded, " +
            $"queued notices at positions {string.Join(", ", notices.Select(n => n.QueuePosition))}");
        Assert.Equal(askers, final.Select(a => a.Asker).Distinct().Count());
        Assert.Contains(final, a => a.Status == AnswerStatus.Overloaded);
        Assert.Contains(final, a => a.Status == AnswerStatus.Ok);
        Assert.NotEmpty(notices);
        Assert.All(notices, n => Assert.InRange(n.QueuePosition!.Value, 2, 3));
        Assert.All(notices, n => Assert.Equal(Answer.NoticeIdFor(n.Asker, n.QuestionId), n.Id));
        // Every notice is followed by that asker's answer, never by an overloaded refusal.
        Assert.All(notices, n => Assert.Equal(AnswerStatus.Ok, final.Single(a => a.Asker == n.Asker).Status));
    }

    /// <summary>Finding 8: metrics carry no asker label, so any number of askers keeps the series bounded.</summary>
    [Fact]
    public async Task Many_askers_add_no_metric_series()
    {
        var tagSets = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Pipeline.Observability.EdgeTelemetry.Meter.Name)
                l.EnableMeasurementEvents(instrument);
        };
        void Record<T>(System.Diagnostics.Metrics.Instrument instrument, T value,
            ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) =>
            tagSets.TryAdd(
                instrument.Name + "{" + string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")) + "}", 0);
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var worker = await LlmWorkerHost.StartAsync(broker.Url);
        await using var client = await TestTransports.ConnectAsync(broker.Url);
        var answers = await LlmWorkerHost.WatchAsync(client, "edge/answers/+", deduplicate: false);

        async Task<int> SeriesAfterAsync(int firstAsker, int askers)
        {
            for (var i = firstAsker; i < firstAsker + askers; i++)
                await client.PublishAsync(Question($"asker{i}", """{"id":"q","text":"Any cars?"}"""), default);
            var received = 0;
            while (received < askers)
            {
                var next = await Receive.ExactlyAsync(answers, 1, LlmWorker_Tests.Timeout);
                received += next.Count(m => LlmWorker_Tests.Decode(m).Status != AnswerStatus.Queued);
            }
            return tagSets.Count;
        }

        var afterFew = await SeriesAfterAsync(0, 3);
        var afterMany = await SeriesAfterAsync(3, 30);

        output.WriteLine($"metric series after 3 askers {afterFew}, after 33 askers {afterMany}");
        // Not a count comparison: tests running alongside record on the same meter. No series names an asker.
        Assert.DoesNotContain(tagSets.Keys, k => k.Contains("asker", StringComparison.OrdinalIgnoreCase));
    }
}
