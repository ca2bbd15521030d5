using System.Collections.Concurrent;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace EdgeEvents.Reliability.Tests;

/// <summary>
/// Issue 20: questions that carry no id of their own (plain text as <c>mosquitto_pub -m</c> sends it, JSON without
/// <c>id</c>), asked while the real <c>edge-events llm</c> process answers, then its link cut (or the process killed
/// with SIGKILL) at several moments after asking, so the acknowledgement is lost and the broker delivers the question
/// again. Every question must get answers that share one answer id; a plain-text question asked twice on purpose is
/// two questions with two ids. One worker (or one worker per kill) and one broker serve all offsets of a case.
/// </summary>
public sealed class Redelivery_Tests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    /// <summary>
    /// Seconds between asking and the fault: before the worker has the question, while it answers, after.
    /// </summary>
    private static readonly double[] FaultOffsets = [0, 0.1, 0.2, 0.5, 1.0];
    private const string Text = "Question 1: what do you see?";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-redelivery-");

    public enum Fault { Cut, Kill }

    [Theory]
    [InlineData(MqttTestBroker.Embedded, Fault.Cut)]
    [InlineData(MqttTestBroker.Mosquitto, Fault.Cut)]
    [InlineData(MqttTestBroker.Embedded, Fault.Kill)]
    [InlineData(MqttTestBroker.Mosquitto, Fault.Kill)]
    public async Task Idless_questions_hit_by_a_fault_get_answers_that_share_one_answer_id_on_mqtt(string kind,
        Fault fault)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var asker = await TestTransports.ConnectAsync(broker.Url);
        await using var listener = await TestTransports.ConnectAsync(broker.Url);
        // Like mosquitto_pub: no message id of ours, QoS 1.
        async Task Ask(string who, byte[] payload, string? contentType) =>
            await asker.PublishAsync(
                new OutgoingMessage($"edge/questions/{who}", payload) { ContentType = contentType }, default);
        var figures = await RunAsync(broker.Port, link => link.MqttUrl, listener, Ask, fault, [], lossless: true);
        output.WriteLine($"{kind}, {fault}: {figures}");
    }

    [Theory]
    [InlineData(true, Fault.Cut)]
    [InlineData(true, Fault.Kill)]
    [InlineData(false, Fault.Cut)]
    public async Task Idless_questions_hit_by_a_fault_get_answers_that_share_one_answer_id_on_nats(bool jetStream,
        Fault fault)
    {
        await using var server = await NatsServer.StartNewAsync(jetStream);
        await using var listener = await server.ConnectAsync("listener");
        // Like `nats pub`: a bare payload, no headers.
        await using var asker = new NatsConnection(new NatsOpts { Url = server.Url });
        await asker.ConnectAsync();
        async Task Ask(string who, byte[] payload, string? contentType)
        {
            var headers = contentType is null ? null : new NatsHeaders { ["Content-Type"] = contentType };
            await asker.PublishAsync($"edge.questions.{who}", payload, headers);
            await asker.PingAsync();
        }
        // JetStream redelivers an unacknowledged question after AckWait: short here, so the test is.
        Dictionary<string, string> settings = jetStream
            ? new() { ["EDGEEVENTS_Transport__Nats__JetStream__AckWait"] = "00:00:02" }
            : [];
        // Core NATS stores nothing: a question published while the worker is away is lost, never redelivered.
        var figures = await RunAsync(server.Port, link => link.NatsUrl, listener, Ask, fault, settings,
            lossless: jetStream);
        output.WriteLine($"NATS {(jetStream ? "JetStream" : "core")}, {fault}: {figures}");
    }

    /// <summary>
    /// Per fault offset, three questions from two askers (the same plain text twice from one, JSON without id from the
    /// other), then the fault; then waits for the answers and checks them per asker.
    /// </summary>
    private async Task<string> RunAsync(int brokerPort, Func<TcpProxy, string> url, IMessageTransport listener,
        Func<string, byte[], string?, Task> ask, Fault fault, Dictionary<string, string> settings, bool lossless)
    {
        await using var link = new TcpProxy(brokerPort);
        // Every copy counts here: no de-duplication on the listener.
        var answers = new AnswerLog(await listener.SubscribeAsync(
            new SubscriptionRequest("edge/answers/#") { Capacity = 1024, Deduplicate = false }, default));
        var outbox = Path.Combine(_folder.FullName, "llm.outbox.db");
        var worker = await StartLlmAsync(url(link), outbox, settings);
        var logs = new List<string>();
        var asked = new Dictionary<string, int>();
        try
        {
            // A first answer: the worker's session (or consumer) and subscription exist before the faults begin.
            await ask("warmup", Encoding.UTF8.GetBytes(Text), null);
            await answers.WaitAsync(log => log.DistinctIds("warmup") > 0, Timeout);
            for (var i = 0; i < FaultOffsets.Length; i++)
            {
                // Ask while the worker is connected (core NATS would drop the questions otherwise): after a cut, once
                // it has logged a connection more.
                await WaitForLogAsync(worker, "Connected to ", times: fault == Fault.Cut ? i + 1 : 1);
                var answered = CountOf(worker.StandardError, "Answered ");
                // Questions still reach the worker but nothing it sends gets through: its answers stay in flight and
                // their acknowledgements never reach the broker, so the fault lands between answering and
                // acknowledging (or, at the small offsets, before or while answering).
                link.StallFromClient();
                await ask($"plain{i}", Encoding.UTF8.GetBytes(Text), null);
                await ask($"plain{i}", Encoding.UTF8.GetBytes(Text), null);
                await ask($"json{i}", Encoding.UTF8.GetBytes($$"""{"text":"{{Text}}"}"""), ContentTypes.Json);
                (asked[$"plain{i}"], asked[$"json{i}"]) = (2, 1);
                await Task.Delay(TimeSpan.FromSeconds(FaultOffsets[i]));
                // From 0.5 s on, the fault also waits for an answer (generation is slow on a busy machine), so at
                // least these faults land between answering and acknowledging.
                if (FaultOffsets[i] >= 0.5) await WaitForLogAsync(worker, "Answered ", answered + 1);
                if (fault == Fault.Cut)
                {
                    link.Cut();
                    link.Resume();
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    link.Restore();
                }
                else
                {
                    worker.Kill();
                    link.Cut();
                    link.Resume();
                    link.Restore();
                    await worker.WaitForExitAsync(Timeout);
                    logs.Add(worker.StandardError);
                    await worker.DisposeAsync();
                    worker = await StartLlmAsync(url(link), outbox, settings);
                }
            }
            await answers.WaitAsync(log => asked.All(a => log.DistinctIds(a.Key) >= a.Value),
                lossless ? Timeout : TimeSpan.FromSeconds(10));
            await answers.WaitUntilQuietAsync(TimeSpan.FromSeconds(4), Timeout);
        }
        finally
        {
            logs.Add(worker.StandardError);
            await worker.DisposeAsync();
        }

        var repeats = logs.Sum(l => CountOf(l, "seen again"));
        var lost = asked.Sum(a => a.Value - Math.Min(a.Value, answers.DistinctIds(a.Key)));
        var figures = $"questions {asked.Values.Sum()}, answers received {answers.Count} " +
            $"(distinct ids {asked.Keys.Sum(answers.DistinctIds)}), " +
            $"questions the worker saw again {repeats}, lost {lost}";
        foreach (var (who, count) in asked)
        {
            // One answer id per question: copies share it; a repeat asked on purpose has an id of its own.
            var message = $"{who} asked {count}, answers {answers.Describe(who)}; {figures}";
            if (lossless) Assert.True(count == answers.DistinctIds(who), message);
            else Assert.True(answers.DistinctIds(who) <= count, message);
            Assert.All(answers.Of(who), a => Assert.Equal(Answer.IdFor(who, a.QuestionId), a.Id));
        }
        // The faults must have hit the window at least once, or nothing was tested.
        if (lossless) Assert.True(repeats > 0, $"No question came back to the worker; {figures}");
        return figures;
    }

    /// <summary>
    /// The real <c>edge-events llm</c>: fixed client id (persistent session / durable consumer), outbox (and so the
    /// ledger) in the test folder, fast reconnects.
    /// </summary>
    private static async Task<CliProcess> StartLlmAsync(string brokerUrl, string outbox,
        Dictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string>(settings)
        {
            ["EDGEEVENTS_Transport__Outbox__Path"] = outbox,
            ["EDGEEVENTS_Transport__ReconnectMaxDelay"] = "00:00:00.5",
        };
        var process = CliProcess.Start("dotnet",
            [
                CliProcess.EdgeEventsDll, "llm", "--broker", brokerUrl, "--client-id", "llm-redelivery",
                "--model", TestData.Model("stories260K.gguf"), "--context", "512", "--max-tokens", "16",
            ], environment);
        await WaitForLogAsync(process, "Loaded ");
        return process;
    }

    private static async Task WaitForLogAsync(CliProcess process, string text, int times = 1)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (CountOf(process.StandardError, text) < times)
        {
            Assert.True(DateTime.UtcNow < deadline && !process.HasExited,
                $"No '{text}' in the LLM worker's log:\n{process.StandardError}");
            await Task.Delay(20);
        }
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0;
             at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    public void Dispose() => _folder.Delete(recursive: true);

    /// <summary>Every answer that arrives, by asker.</summary>
    private sealed class AnswerLog
    {
        private readonly ConcurrentQueue<Answer> _answers = new();
        private DateTime _lastArrival = DateTime.UtcNow;

        public AnswerLog(IMessageSubscription subscription) => _ = Task.Run(async () =>
        {
            await foreach (var message in subscription.Messages.ReadAllAsync())
            {
                var answer = MessageCodec.Deserialize<Answer>(message.Payload, message.ContentType);
                // Only answers: a queued notice is not one (a busy worker may send them).
                if (answer.Status == AnswerStatus.Queued) continue;
                _answers.Enqueue(answer);
                _lastArrival = DateTime.UtcNow;
            }
        });

        public int Count => _answers.Count;
        public List<Answer> Of(string asker) => _answers.Where(a => a.Asker == asker).ToList();
        public int DistinctIds(string asker) => Of(asker).Select(a => a.Id).Distinct().Count();
        public string Describe(string asker) => string.Join(", ", Of(asker).Select(a => $"{a.Id} ({a.Status})"));

        public async Task WaitAsync(Func<AnswerLog, bool> condition, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!condition(this) && DateTime.UtcNow < deadline) await Task.Delay(50);
        }

        public async Task WaitUntilQuietAsync(TimeSpan quiet, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow - _lastArrival < quiet && DateTime.UtcNow < deadline) await Task.Delay(100);
        }
    }
}
