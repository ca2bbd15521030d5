using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events ask "question" [--camera c] [--asker name] [--timeout 60s]</c>: publishes a question on
/// <c>{prefix}/questions/{asker}</c> with the MQTT 5 response topic <c>{prefix}/answers/{asker}</c> and fresh
/// correlation data, waits for the answer carrying that correlation data and prints its JSON on one line on stdout.
/// Exit code 0 when an answer arrived (whatever its status), 1 when none came in time, 2 on bad arguments.
/// </summary>
public static class AskCommand
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static Command Create()
    {
        var question = new Argument<string>("question")
        {
            Description = "The question, e.g. \"How many people are in the room?\"",
        };
        var camera = new Option<string>("--camera") { Description = "Limit the answer to one camera" };
        var asker = new Option<string>("--asker")
        {
            Description = "Who asks; names the question and answer topics [default: cli]",
        };
        var timeout = DurationOption.Create("--timeout",
            "How long to wait for the answer, e.g. 90s" + HelpDefault.Of(DefaultTimeout));

        var command = new Command("ask", "Ask the LLM worker a question and print its answer (JSON).");
        command.Arguments.Add(question);
        HostedCommand.AddOptions(command, HostedCommand.Common);
        command.Options.Add(HostedCommand.ConfigFile);
        command.Options.Add(camera);
        command.Options.Add(asker);
        command.Options.Add(timeout);
        command.SetAction(async (parse, ct) =>
        {
            var builder = HostedCommand.CreateBuilder(parse, HostedCommand.Common);
            using var loggers = CliLogging.Create(LogLevel.Warning);
            var logger = loggers.CreateLogger("EdgeEvents.ask");
            var name = parse.GetValue(asker) ?? "cli";
            var scope = parse.GetValue(camera);
            if (!TopicScheme.IsValidName(name) || (scope is not null && !TopicScheme.IsValidName(scope)))
            {
                logger.LogError("Asker and camera names use letters, digits, '-' and '_' (at most 128)");
                return 2;
            }
            var wait = parse.GetResult(timeout) is { Implicit: false } ? parse.GetValue(timeout) : DefaultTimeout;

            var options = HostedCommand.TransportFrom(builder.Configuration, "ask");
            // A short-lived client: its own id, no session left behind on the broker.
            var clientId = options.ClientId ??
                $"ask-{name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
            options = options with { ClientId = clientId, PersistentSession = false };
            // NATS: the reply comes to an inbox of the asker's, the only kind the LLM worker answers on
            // (Llm:ReplyTopics).
            var inboxPrefix = options.Nats.InboxPrefix ?? NatsUserScope.InboxPrefix(name);
            options = options with { Nats = options.Nats with { InboxPrefix = inboxPrefix } };
            var topics = new TopicScheme(options.Prefix);
            await using var transport = TransportFactory.Create(options, "ask", loggers);
            var payload = new Question { Text = parse.GetValue(question) ?? "", Camera = scope };
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                deadline.CancelAfter(wait);
                await transport.ConnectAsync(deadline.Token);
                var body = MessageCodec.Serialize(payload, PayloadFormat.Json);
                var request = new OutgoingMessage(topics.Questions(name), body)
                {
                    ContentType = ContentTypes.Json, MessageId = payload.Id, ResponseTopic = topics.Answers(name),
                };
                var reply = await transport.RequestAsync(request, wait, deadline.Token);
                await Console.Out.WriteLineAsync(Encoding.UTF8.GetString(reply.Payload.Span));
                return 0;
            }
            catch (Exception ex) when (ex is TimeoutException ||
                (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                logger.LogError("No answer to question {Id} within {Seconds:0.#} s", payload.Id, wait.TotalSeconds);
                return 1;
            }
        });
        return command;
    }
}
