using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Detector;
using EdgeEvents.Llm;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene;
using EdgeEvents.Testing;
using MessagePack;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace EdgeEvents.Reliability.Tests;

/// <summary>
/// A few thousand hostile payloads on the topics the workers subscribe to, read by a consumer that decodes the way
/// workers do (<see cref="MessageCodec"/>, <see cref="FramePayload"/>) and reports rejections through its
/// <see cref="ErrorReporter"/>. Nothing may crash it, every payload is either accepted or rejected and reported on the
/// error topic, and memory stays bounded.
/// </summary>
public sealed class Fuzz_Tests(ITestOutputHelper output)
{
    private const int MaxPayloadBytes = 256 * 1024;
    private static readonly string[] Topics =
        ["edge/frames/cam1", "edge/detections/cam1", "edge/questions/alice", "edge/events/cam1"];

    [Fact]
    public async Task Thousands_of_malformed_payloads_are_rejected_reported_and_counted_without_crashing_the_consumer()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var component = await TestTransports.ComponentAsync(
            TestTransports.Options(broker.Url) with { MaxPayloadBytes = MaxPayloadBytes }, "fuzzed");
        await using var consumer = await Consumer.StartAsync(component);
        await using var watcher = await TestTransports.ConnectAsync(broker.Url);
        await using var errors = await watcher.SubscribeAsync(
            new SubscriptionRequest("edge/errors/fuzzed") { Capacity = 10_000 }, default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);
        var payloads = Payloads.All(new Random(20261128)).ToList();

        long baseline = 0;
        var reported = 0;
        for (var i = 0; i < payloads.Count; i++)
        {
            // Every kind of payload goes to every topic in turn.
            await publisher.PublishAsync(new OutgoingMessage(Topics[i / 10 % Topics.Length], payloads[i].Bytes),
                default);
            if (i % 200 != 199 && i != payloads.Count - 1) continue;
            // Pace by batches so the reporter's bounded queue (1,000, oldest dropped) never has to drop.
            var handled = i + 1;
            await WaitUntilAsync(() => consumer.Accepted + component.Errors.Count >= handled);
            reported += (await Receive.UntilQuietAsync(errors.Messages, TimeSpan.FromMilliseconds(150))).Count;
            if (i == 399) baseline = Memory();
        }
        reported += (await Receive.UntilQuietAsync(errors.Messages, TimeSpan.FromSeconds(1))).Count;
        var growth = Memory() - baseline;

        await publisher.PublishAsync(new OutgoingMessage("edge/questions/alice", "Still there?"u8.ToArray()), default);
        await WaitUntilAsync(() => consumer.Accepted + component.Errors.Count == payloads.Count + 1);

        var kinds = string.Join(", ", payloads.GroupBy(p => p.Kind).Select(g => $"{g.Key} {g.Count()}"));
        output.WriteLine($"sent {payloads.Count} ({kinds}); accepted {consumer.Accepted}, " +
            $"rejected {component.Errors.Count}, error events {reported}, crashes {consumer.Unexpected.Count}, " +
            $"managed memory growth {growth / 1024} KiB");
        Assert.Empty(consumer.Unexpected);
        Assert.Equal(payloads.Count, consumer.Accepted - 1 + component.Errors.Count);
        Assert.Equal(component.Errors.Count, reported);
        Assert.True(component.Errors.Count > payloads.Count / 2, "Most fuzzed payloads should be rejected.");
        Assert.InRange(growth, long.MinValue, 64L * 1024 * 1024);
    }

    /// <summary>
    /// A real worker in its host, as <c>edge-events {worker}</c> runs it: hostile payloads on every topic it
    /// subscribes to, plus well-formed messages with values no producer sends. It must reject them as input errors
    /// (never <c>internal</c>, which means an exception escaped its checks), report each on the error topic, keep
    /// memory bounded, and still answer a valid message afterwards.
    /// </summary>
    [Theory]
    [InlineData("scene")]
    [InlineData("detector")]
    [InlineData("llm")]
    public async Task A_real_worker_rejects_thousands_of_malformed_inputs_and_keeps_working(string worker)
    {
        var target = Workers.Get(worker);
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(target.Settings)
        {
            ["Transport:Broker"] = broker.Url, ["Transport:ClientId"] = $"fuzzed-{worker}",
            ["Transport:PersistentSession"] = "false",
        });
        target.Add(builder.Services, builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        // Stopped before it is disposed, whatever happens: a worker disposed while running may throw
        // and hide the failure.
        EdgeComponent component;
        var kinds = new Dictionary<string, int>();
        string? firstInternal = null;
        long growth;
        List<Payload> payloads;
        try
        {
            component = host.Services.GetRequiredKeyedService<EdgeComponent>(worker);
            await using var watcher = await TestTransports.ConnectAsync(broker.Url);
            await using var errors = await watcher.SubscribeAsync(
                new SubscriptionRequest($"edge/errors/{worker}") { Capacity = 10_000 }, default);
            await using var replies = await watcher.SubscribeAsync(
                new SubscriptionRequest(target.ReplyTopic) { Capacity = 10_000 }, default);
            await using var publisher = await TestTransports.ConnectAsync(broker.Url);
            // Alive before: the worker has subscribed (and loaded its model) once it answers the probe.
            await ProbeAsync(publisher, replies, target);
            var random = new Random(20261129);
            payloads = Payloads.All(random).Concat(target.Nonsense(random)).ToList();

            long baseline = 0;
            for (var i = 0; i < payloads.Count; i++)
            {
                await publisher.PublishAsync(
                    new OutgoingMessage(target.Topics[i / 10 % target.Topics.Length], payloads[i].Bytes), default);
                if (i % 200 != 199 && i != payloads.Count - 1) continue;
                await DrainErrorsAsync();
                if (i == 399) baseline = Memory();
            }
            growth = Memory() - baseline;
            await Receive.UntilQuietAsync(replies.Messages, TimeSpan.FromMilliseconds(500));
            await ProbeAsync(publisher, replies, target);
            // Generation goes on after the last payload (the LLM reports model_output errors late): count those too.
            await DrainErrorsAsync();

            async Task DrainErrorsAsync()
            {
                await WaitUntilQuietAsync(() => component.Errors.Count);
                foreach (var error in await Receive.UntilQuietAsync(errors.Messages, TimeSpan.FromMilliseconds(150)))
                {
                    var report = MessageCodec.Deserialize<ErrorEvent>(error.Payload);
                    kinds[report.Kind] = kinds.GetValueOrDefault(report.Kind) + 1;
                    if (report.Kind == ErrorKinds.Internal) firstInternal ??= $"{report.Topic}: {report.Message}";
                }
            }
        }
        finally
        {
            await host.StopAsync();
        }

        var errorKinds = string.Join(", ", kinds.OrderByDescending(k => k.Value).Select(k => $"{k.Key} {k.Value}"));
        output.WriteLine($"{worker} worker: sent {payloads.Count}, errors reported {component.Errors.Count} " +
            $"({errorKinds}), managed memory growth {growth / 1024} KiB; still answers afterwards");
        Assert.True(firstInternal is null, $"An exception escaped the worker's input checks: {firstInternal}");
        Assert.Equal(component.Errors.Count, kinds.Values.Sum());
        Assert.True(component.Errors.Count > payloads.Count / 2, "Most of the fuzzed inputs should be rejected.");
        Assert.InRange(growth, long.MinValue, 64L * 1024 * 1024);
    }

    private static async Task ProbeAsync(IMessageTransport publisher, IMessageSubscription replies, Worker target)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            await publisher.PublishAsync(target.Probe(), default);
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                wait.CancelAfter(TimeSpan.FromSeconds(2));
                await replies.Messages.ReadAsync(wait.Token);
                return;
            }
            catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>How to host, feed and probe each worker.</summary>
    private sealed record Worker(
        string Name,
        Action<IServiceCollection, IConfiguration> Add,
        Dictionary<string, string?> Settings,
        string[] Topics,
        Func<OutgoingMessage> Probe,
        string ReplyTopic,
        Func<Random, IEnumerable<Payload>> Nonsense);

    private static class Workers
    {
        private static long _probe;

        public static Worker Get(string name) => name switch
        {
            "scene" => new("scene", (s, c) => s.AddSceneWorker(c), [],
                ["edge/detections/cam1", "edge/detections/cam2", "edge/detections/bad name"],
                () => new OutgoingMessage("edge/detections/valid", MessageCodec.Serialize(new DetectionSet
                {
                    Camera = "valid", ModelId = "m", FrameSequence = Interlocked.Increment(ref _probe),
                    CapturedAt = DateTimeOffset.UtcNow,
                    Detections =
                        [new Detection { Label = "person", Confidence = 0.9f, Box = new Box(10, 10, 50, 100) }],
                }, PayloadFormat.MessagePack)),
                "edge/scene/valid", Payloads.NonsenseDetections),
            "detector" => new("detector", (s, c) => s.AddDetectorWorker(c),
                new()
                {
                    ["Detector:ModelPath"] = TestData.Model("yolov8n_int8_dynamic.onnx"),
                    ["Detector:MaxFrameAge"] = "00:05:00",
                },
                ["edge/frames/cam1", "edge/frames/cam2"],
                () => new OutgoingMessage("edge/frames/valid", File.ReadAllBytes(TestData.Sample("bus.jpg")))
                {
                    Delivery = Delivery.AtMostOnce,
                },
                "edge/detections/valid", Payloads.NonsenseFrames),
            "llm" => new("llm", (s, c) => s.AddLlmWorker(c),
                new()
                {
                    ["Llm:ModelPath"] = TestData.Model("stories260K.gguf"), ["Llm:ContextSize"] = "1024",
                    ["Llm:MaxTokens"] = "16", ["Llm:Threads"] = "2",
                },
                ["edge/questions/alice", "edge/scene/cam1", "edge/events/cam1"],
                () => new OutgoingMessage("edge/questions/probe", "How many people are there?"u8.ToArray())
                {
                    MessageId = MessageId.New(),
                },
                "edge/answers/probe", Payloads.NonsenseQuestions),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown worker."),
        };
    }

    private static async Task WaitUntilQuietAsync(Func<long> counter)
    {
        var last = -1L;
        while (counter() != last)
        {
            last = counter();
            await Task.Delay(100);
        }
    }

    private static long Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The consumer stopped keeping up.");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Decodes by topic kind like the workers and reports what it refuses; anything but a clean rejection is a crash.
    /// </summary>
    private sealed class Consumer : IAsyncDisposable
    {
        private static readonly UTF8Encoding StrictUtf8 =
            new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private readonly EdgeComponent _component;
        private readonly List<IMessageSubscription> _subscriptions = [];
        private readonly List<Task> _loops = [];
        private long _accepted;

        private Consumer(EdgeComponent component) => _component = component;

        public long Accepted => Interlocked.Read(ref _accepted);
        public ConcurrentQueue<string> Unexpected { get; } = new();

        public static async Task<Consumer> StartAsync(EdgeComponent component)
        {
            var consumer = new Consumer(component);
            foreach (var kind in new[]
                     { TopicKind.Frames, TopicKind.Detections, TopicKind.Questions, TopicKind.Events })
            {
                var subscription = await component.Transport.SubscribeAsync(
                    new SubscriptionRequest(component.Topics.AllOf(kind)), default);
                consumer._subscriptions.Add(subscription);
                consumer._loops.Add(Task.Run(() => consumer.ConsumeAsync(subscription)));
            }
            return consumer;
        }

        private async Task ConsumeAsync(IMessageSubscription subscription)
        {
            await foreach (var message in subscription.Messages.ReadAllAsync())
            {
                try
                {
                    Decode(message);
                    Interlocked.Increment(ref _accepted);
                }
                catch (Exception ex) when (ex is MessageFormatException or DecoderFallbackException)
                {
                    _component.Errors.Report(ErrorKinds.MalformedPayload, ex.Message, message.Topic,
                        message.Payload.Length);
                }
                catch (Exception ex)
                {
                    Unexpected.Enqueue(
                        $"{message.Topic} ({message.Payload.Length} bytes): {ex.GetType().Name}: {ex.Message}");
                    _component.Errors.Report(ErrorKinds.Internal, ex.Message, message.Topic, message.Payload.Length);
                }
            }
        }

        private void Decode(ReceivedMessage message)
        {
            var (kind, name) = _component.Topics.Parse(message.Topic);
            switch (kind)
            {
                case TopicKind.Frames:
                    FramePayload.Parse(message.Payload, name!, 0, message.ReceivedAt, message.ContentType);
                    break;
                case TopicKind.Detections:
                    Require(MessageCodec.Deserialize<DetectionSet>(message.Payload, message.ContentType).Camera,
                        "camera");
                    break;
                case TopicKind.Events:
                    var scene = MessageCodec.Deserialize<SceneEvent>(message.Payload, message.ContentType);
                    Require(scene.Camera, "camera");
                    Require(scene.Type, "type");
                    break;
                case TopicKind.Questions:
                    // A question is a Question envelope or plain UTF-8 text.
                    var envelope = message.Payload.Span is [(byte)'{', ..] ||
                        MessageCodec.Sniff(message.Payload.Span) == PayloadFormat.MessagePack &&
                        IsMessagePackMap(message.Payload);
                    var text = envelope
                        ? MessageCodec.Deserialize<Question>(message.Payload, message.ContentType).Text
                        : StrictUtf8.GetString(message.Payload.Span);
                    if (string.IsNullOrWhiteSpace(text) || text.Length > 2000)
                        throw new MessageFormatException("A question must be 1 to 2,000 characters of text.");
                    break;
                default:
                    throw new MessageFormatException($"No decoder for topic '{message.Topic}'.");
            }
        }

        private static bool IsMessagePackMap(ReadOnlyMemory<byte> payload) =>
            payload.Span is [>= 0x90 and <= 0x9F, ..] or [0xDC or 0xDD, ..];

        private static void Require(string? value, string field)
        {
            if (string.IsNullOrEmpty(value)) throw new MessageFormatException($"Missing {field}.");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var subscription in _subscriptions) await subscription.DisposeAsync();
            await Task.WhenAll(_loops);
        }
    }

    private sealed record Payload(string Kind, byte[] Bytes);

    /// <summary>The hostile payloads, from a fixed seed so a failure can be replayed.</summary>
    private static class Payloads
    {
        public static IEnumerable<Payload> All(Random random)
        {
            var valid = ValidMessages().ToList();
            var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
            for (var i = 0; i < 3000; i++)
            {
                yield return (i % 10) switch
                {
                    0 => new("random bytes", RandomBytes(random, random.Next(0, 2048))),
                    1 => new("wrong-shape MessagePack", WrongShape(random)),
                    2 => new("truncated message", Truncate(random, valid[random.Next(valid.Count)])),
                    3 => new("mutated message", Mutate(random, valid[random.Next(valid.Count)])),
                    4 => new("huge declared length", HugeLength(random)),
                    5 => new("truncated JPEG", jpeg[..random.Next(1, jpeg.Length / 4)]),
                    6 => new("invalid UTF-8", InvalidUtf8(random)),
                    7 => new("wrong-shape JSON", Encoding.UTF8.GetBytes(WrongJson(random))),
                    8 => new("deep nesting", Nested(random)),
                    _ => i % 100 == 9
                        ? new("oversize", RandomBytes(random, MaxPayloadBytes + 1 + random.Next(1024)))
                        : new("random bytes", RandomBytes(random, random.Next(1, 64))),
                };
            }
        }

        /// <summary>Well-formed detection sets with values no detector produces.</summary>
        public static IEnumerable<Payload> NonsenseDetections(Random random)
        {
            float[] odd = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -1f, 1e30f, float.Epsilon, 2f];
            for (var i = 0; i < 500; i++)
            {
                var count = i % 50 == 0 ? 20_000 : random.Next(0, 8);
                var detections = Enumerable.Range(0, count).Select(_ => new Detection
                {
                    Label = random.Next(4) == 0 ? new string('x', random.Next(0, 500)) : "person",
                    ClassId = random.Next(-5, 200),
                    Confidence = odd[random.Next(odd.Length)],
                    Box = new Box(odd[random.Next(odd.Length)], random.Next(-100, 5000), odd[random.Next(odd.Length)],
                        random.Next(-100, 5000)),
                }).ToList();
                var set = new DetectionSet
                {
                    Camera = random.Next(3) == 0 ? "someone-else" : $"cam{i % 7}",
                    ModelId = "fuzz",
                    FrameSequence = random.Next(3) == 0 ? -random.Next() : random.Next(),
                    CapturedAt = random.Next(3) == 0
                        ? DateTimeOffset.MinValue.AddDays(1)
                        : DateTimeOffset.UtcNow.AddYears(random.Next(-50, 50)),
                    ImageWidth = random.Next(-10, 100_000),
                    ImageHeight = random.Next(-10, 100_000),
                    Detections = detections,
                };
                // MessagePack: JSON cannot even carry NaN or infinities.
                yield return new("nonsense detections", MessageCodec.Serialize(set, PayloadFormat.MessagePack));
            }
        }

        /// <summary>Well-formed frame envelopes that lie about their size or encoding.</summary>
        public static IEnumerable<Payload> NonsenseFrames(Random random)
        {
            for (var i = 0; i < 300; i++)
            {
                var encoding = (FrameEncoding)random.Next(0, 6);
                var frame = new Frame
                {
                    Camera = random.Next(4) == 0 ? "bad name/" : "cam1",
                    Sequence = random.Next(3) == 0 ? -1 : i,
                    CapturedAt = DateTimeOffset.UtcNow.AddYears(random.Next(-20, 20)),
                    Encoding = encoding,
                    Width = random.Next(-10, 70_000),
                    Height = random.Next(-10, 70_000),
                    Data = RandomBytes(random, random.Next(0, 4096)),
                };
                yield return new("nonsense frames", MessageCodec.Serialize(frame, PayloadFormat.MessagePack));
            }
        }

        /// <summary>
        /// Well-formed question envelopes with empty, huge or control-character text and bogus reply topics.
        /// </summary>
        public static IEnumerable<Payload> NonsenseQuestions(Random random)
        {
            string[] texts = ["", "   ", new string('?', 100_000), "\u0000\u0001\u0002", "what\u202Eis"];
            string?[] replies = ["#", "edge/answers/+", "$SYS/x", "", null, new string('a', 70_000)];
            for (var i = 0; i < 200; i++)
            {
                var question = new Question
                {
                    Text = texts[random.Next(texts.Length)],
                    Camera = random.Next(3) == 0 ? "no such camera/" : null,
                    ReplyTo = replies[random.Next(replies.Length)],
                };
                yield return new("nonsense questions", MessageCodec.Serialize(question,
                    random.Next(2) == 0 ? PayloadFormat.MessagePack : PayloadFormat.Json));
            }
        }

        private static IEnumerable<byte[]> ValidMessages()
        {
            yield return MessageCodec.Serialize(new Frame
            {
                Camera = "cam1", Sequence = 7, Encoding = FrameEncoding.Rgb24, Width = 2, Height = 2,
                Data = new byte[12],
            }, PayloadFormat.MessagePack);
            yield return MessageCodec.Serialize(new DetectionSet
            {
                Camera = "cam1", ModelId = "yolov8n",
                Detections = [new Detection { Label = "person", Confidence = 0.9f }],
            }, PayloadFormat.MessagePack);
            yield return MessageCodec.Serialize(new Question { Text = "How many people are on cam1?" },
                PayloadFormat.MessagePack);
            yield return MessageCodec.Serialize(
                new SceneEvent { Camera = "cam1", Type = SceneEventTypes.New, Label = "bus" },
                PayloadFormat.MessagePack);
            yield return MessageCodec.Serialize(
                new SceneEvent { Camera = "cam1", Type = SceneEventTypes.End, Label = "person" }, PayloadFormat.Json);
        }

        private static byte[] RandomBytes(Random random, int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }

        private static byte[] Truncate(Random random, byte[] message) => message[..random.Next(0, message.Length)];

        private static byte[] Mutate(Random random, byte[] message)
        {
            var copy = (byte[])message.Clone();
            for (var n = random.Next(1, 6); n > 0; n--) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            return copy;
        }

        /// <summary>
        /// Valid MessagePack, wrong structure: scalars, arrays of the wrong arity and types, maps, nil.
        /// </summary>
        private static byte[] WrongShape(Random random)
        {
            var buffer = new ArrayBufferWriter<byte>();
            var writer = new MessagePackWriter(buffer);
            WriteValue(ref writer, random, depth: 0);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }

        private static void WriteValue(ref MessagePackWriter writer, Random random, int depth)
        {
            switch (depth > 3 ? random.Next(5) : random.Next(8))
            {
                case 0: writer.Write(random.Next()); break;
                case 1: writer.Write(RandomString(random)); break;
                case 2: writer.WriteNil(); break;
                case 3: writer.Write(random.NextDouble() > 0.5 ? double.NaN : -random.NextDouble()); break;
                case 4: writer.Write(RandomBytes(random, random.Next(0, 32))); break;
                case 5:
                case 6:
                    var count = random.Next(0, 20);
                    writer.WriteArrayHeader(count);
                    for (var i = 0; i < count; i++) WriteValue(ref writer, random, depth + 1);
                    break;
                default:
                    var entries = random.Next(0, 6);
                    writer.WriteMapHeader(entries);
                    for (var i = 0; i < entries; i++)
                    {
                        writer.Write(RandomString(random));
                        WriteValue(ref writer, random, depth + 1);
                    }
                    break;
            }
        }

        /// <summary>
        /// Headers that declare gigabytes (bin/str/array/map 32) followed by a few bytes, bare or inside an envelope.
        /// </summary>
        private static byte[] HugeLength(Random random)
        {
            byte[] header = random.Next(4) switch
            {
                0 => [0xC6, 0x7F, 0xFF, 0xFF, 0xFF],
                1 => [0xDB, 0x7F, 0xFF, 0xFF, 0xF0],
                2 => [0xDD, 0xFF, 0xFF, 0xFF, 0xFF],
                _ => [0xDF, 0x7F, 0xFF, 0xFF, 0xFF],
            };
            // Inside an 11-element envelope the header sits where a Frame's data or a list would be.
            byte[] envelope = random.Next(2) == 0
                ? []
                : [0x9B, 0x01, 0xA1, (byte)'x', 0x00, 0xA4, (byte)'c', (byte)'a', (byte)'m', (byte)'1',
                    0x00, 0x00, 0x00, 0x00, 0x00];
            return [.. envelope, .. header, .. RandomBytes(random, random.Next(0, 16))];
        }

        private static byte[] InvalidUtf8(Random random)
        {
            byte[][] bad =
                [[0xC3, 0x28], [0xA0, 0xA1], [0xE2, 0x28, 0xA1], [0xF0, 0x28, 0x8C, 0xBC], [0xFF], [0xED, 0xA0, 0x80]];
            var text = Encoding.UTF8.GetBytes("how many " + RandomString(random));
            return random.Next(2) == 0
                ? [.. text, .. bad[random.Next(bad.Length)]]
                : [.. "{\"text\":\""u8.ToArray(), .. bad[random.Next(bad.Length)], .. "\"}"u8.ToArray()];
        }

        private static string WrongJson(Random random) => random.Next(8) switch
        {
            0 => "{\"camera\": 5, \"type\": [1,2]}",
            1 => "[]",
            2 => "{\"text\": {\"a\": 1}}",
            3 => "{\"camera\": \"cam1\", \"detections\": \"many\"}",
            4 => "{\"createdAt\": \"yesterday\", \"camera\": \"cam1\"}",
            5 => "{\"camera\": \"cam1\", \"objects\": [{\"box\": \"wide\"}]}",
            6 => "{\"text\": \"" + new string('x', 3000) + "\"}",
            _ => "{\"camera\": \"cam1\",",
        };

        private static byte[] Nested(Random random)
        {
            var depth = random.Next(100, 20_000);
            return random.Next(2) == 0
                ? Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth))
                : [.. Enumerable.Repeat((byte)0x91, depth), 0xC0];
        }

        private static string RandomString(Random random) =>
            new([.. Enumerable.Range(0, random.Next(0, 12)).Select(_ => (char)random.Next(0x20, 0x7F))]);
    }
}
