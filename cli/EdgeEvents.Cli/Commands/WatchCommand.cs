using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events watch</c>: print every message under a filter as one JSON line on stdout.</summary>
public static class WatchCommand
{
    public static Command Create()
    {
        var filter = new Argument<string?>("filter")
        {
            Description = "Topic filter (MQTT wildcards) [default: everything under the prefix]",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var count = new Option<int>("--count")
        {
            Description = "Exit after this many messages; 0 = never [default: 0]",
        };
        var command = new Command("watch", "Subscribe and print each message as a JSON line: " +
            "topic, content type and decoded payload (frames summarised).");
        command.Arguments.Add(filter);
        foreach (var option in HostedCommand.Common) command.Options.Add(option.Option);
        command.Options.Add(count);
        command.Options.Add(HostedCommand.ConfigFile);
        command.SetAction(async (parse, ct) =>
        {
            var builder = HostedCommand.CreateBuilder(parse, HostedCommand.Common);
            var options = HostedCommand.TransportFrom(builder.Configuration, "watch") with
            {
                PersistentSession = false,
            };
            options = options with { ClientId = options.ClientId ?? $"watch-{Guid.NewGuid():N}"[..18] };
            var topics = new TopicScheme(options.Prefix);
            using var loggers = CliLogging.Create(LogLevel.Warning);
            await using var transport = TransportFactory.Create(options, "watch", loggers);
            await transport.ConnectAsync(ct);
            await using var subscription = await transport.SubscribeAsync(
                new SubscriptionRequest(parse.GetValue(filter) ?? topics.Everything) { Capacity = 4096 }, ct);
            var limit = parse.GetValue(count);
            var printed = 0;
            try
            {
                await foreach (var message in subscription.Messages.ReadAllAsync(ct))
                {
                    Console.Out.WriteLine(Describe(message, topics).ToJsonString());
                    await Console.Out.FlushAsync(ct);
                    if (limit > 0 && ++printed >= limit) break;
                }
            }
            catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// A message as a JSON object: frames summarised, JSON payloads inline, text as a string, the rest as a size.
    /// </summary>
    public static JsonObject Describe(ReceivedMessage message, TopicScheme topics)
    {
        var line = new JsonObject
        {
            ["topic"] = message.Topic,
            ["contentType"] = message.ContentType,
            ["retained"] = message.Retained,
            ["bytes"] = message.Payload.Length,
        };
        var (kind, name) = topics.Parse(message.Topic);
        if (kind == TopicKind.Frames || kind == TopicKind.Snapshots)
        {
            try
            {
                var frame = FramePayload.Parse(message.Payload, name ?? "?", 0, message.ReceivedAt,
                    message.ContentType);
                line["frame"] = new JsonObject
                {
                    ["camera"] = frame.Camera, ["sequence"] = frame.Sequence,
                    ["encoding"] = frame.Encoding.ToString().ToLowerInvariant(),
                    ["width"] = frame.Width, ["height"] = frame.Height, ["dataBytes"] = frame.Data.Length,
                    ["capturedAt"] = frame.CapturedAt,
                };
            }
            catch (MessageFormatException ex)
            {
                line["error"] = ex.Message;
            }
            return line;
        }
        var span = message.Payload.Span;
        if (MessageCodec.Sniff(span) == PayloadFormat.Json)
        {
            try { line["payload"] = JsonNode.Parse(span); return line; }
            catch (JsonException) { }
        }
        try
        {
            line["payload"] = new UTF8Encoding(false, true).GetString(span);
        }
        catch (DecoderFallbackException)
        {
            line["payload"] = null;
        }
        return line;
    }
}
