using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace EdgeEvents.Camera.Tests;

/// <summary>
/// The camera worker in a real host, as <c>edge-events camera</c> runs it, publishing through the embedded broker to a
/// test subscriber: its sources, rate, frame count, payload kinds and how it treats an image it cannot read.
/// </summary>
public sealed class CameraWorker_Tests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-camera-test-");
    private MqttTestBroker _broker = null!;
    private IMessageTransport _client = null!;

    public async Task InitializeAsync()
    {
        _broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        _client = await TestTransports.ConnectAsync(_broker.Url);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _broker.DisposeAsync();
    }

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Folder_source_publishes_its_images_in_name_order_and_loops()
    {
        CopySample("bus.jpg", "b.jpg");
        CopySample("zidane.jpg", "a.jpeg");
        File.WriteAllText(Path.Combine(_folder.FullName, "notes.txt"), "not an image, not a candidate");
        await using var frames = await SubscribeAsync("edge/frames/cam-folder");

        var exited = await RunCameraAsync(new()
        {
            ["Id"] = "cam-folder", ["Source"] = _folder.FullName, ["Fps"] = "50",
            ["MaxFrames"] = "3"
        });

        var received = (await Receive.ExactlyAsync(frames, 3, Timeout)).Select(Envelope).ToList();
        Assert.Equal(["a.jpeg", "b.jpg", "a.jpeg"], received.Select(f => f.Attributes!["source"]));
        Assert.Equal([0L, 1, 2], received.Select(f => f.Sequence));
        Assert.Equal(File.ReadAllBytes(TestData.Sample("zidane.jpg")), received[0].Data);
        Assert.All(received, f => Assert.Equal(("cam-folder", FrameEncoding.Jpeg), (f.Camera, f.Encoding)));
        Assert.Equal(0, exited.Errors);
    }

    [Fact]
    public async Task Folder_source_without_loop_publishes_each_image_once_then_stops()
    {
        CopySample("bus.jpg", "a.jpg");
        CopySample("dog.jpg", "b.jpg");
        await using var frames = await SubscribeAsync("edge/frames/cam-once");

        var exited = await RunCameraAsync(new()
        {
            ["Id"] = "cam-once", ["Source"] = _folder.FullName, ["Fps"] = "50",
            ["Loop"] = "false", ["MaxFrames"] = "10"
        });

        var received = await Receive.UntilQuietAsync(frames.Messages, TimeSpan.FromSeconds(1));
        Assert.Equal(2, exited.Published);
        Assert.Equal(["a.jpg", "b.jpg"], received.Select(m => Envelope(m).Attributes!["source"]));
    }

    [Fact]
    public async Task File_source_publishes_the_same_image_with_its_size_from_the_header()
    {
        await using var frames = await SubscribeAsync("edge/frames/cam-file");

        await RunCameraAsync(new()
        {
            ["Id"] = "cam-file", ["Source"] = TestData.Sample("bus.jpg"), ["Fps"] = "50",
            ["MaxFrames"] = "2"
        });

        var received = (await Receive.ExactlyAsync(frames, 2, Timeout)).Select(Envelope).ToList();
        Assert.All(received, f => Assert.Equal(("bus.jpg", 810, 1080), (f.Attributes!["source"], f.Width, f.Height)));
    }

    [Fact]
    public async Task Synthetic_source_publishes_raw_rgb_frames_in_the_envelope_even_when_bare_is_asked()
    {
        await using var frames = await SubscribeAsync("edge/frames/cam-synthetic");

        await RunCameraAsync(new()
        {
            ["Id"] = "cam-synthetic", ["Source"] = "synthetic", ["SyntheticWidth"] = "64", ["SyntheticHeight"] = "48",
            ["Payload"] = "Bare", ["Fps"] = "50", ["MaxFrames"] = "2",
        });

        var received = await Receive.ExactlyAsync(frames, 2, Timeout);
        Assert.All(received, m => Assert.Equal(ContentTypes.MessagePack, m.ContentType));
        var (first, second) = (Envelope(received[0]), Envelope(received[1]));
        Assert.Equal((FrameEncoding.Rgb24, 64, 48, 64 * 48 * 3), (first.Encoding, first.Width, first.Height,
            first.Data.Length));
        Assert.NotEqual(first.Data, second.Data); // the boxes move
    }

    [Fact]
    public async Task Count_stops_the_camera_and_its_host_after_that_many_frames()
    {
        await using var frames = await SubscribeAsync("edge/frames/cam-count");

        var exited = await RunCameraAsync(new()
        {
            ["Id"] = "cam-count", ["Source"] = "synthetic", ["Fps"] = "50",
            ["MaxFrames"] = "5"
        });

        var received = await Receive.UntilQuietAsync(frames.Messages, TimeSpan.FromSeconds(1));
        Assert.Equal(5, received.Count);
        Assert.Equal(5, exited.Published);
    }

    [Fact]
    public async Task Frames_follow_the_configured_rate()
    {
        await using var frames = await SubscribeAsync("edge/frames/cam-rate");

        await RunCameraAsync(new()
        {
            ["Id"] = "cam-rate", ["Source"] = "synthetic", ["Fps"] = "10",
            ["MaxFrames"] = "11"
        });

        var captured = (await Receive.ExactlyAsync(frames, 11, Timeout)).Select(m => Envelope(m).CapturedAt).ToList();
        var span = captured[^1] - captured[0];
        output.WriteLine($"11 frames at 10 fps spanned {span.TotalMilliseconds:0} ms (1000 ms expected)");
        // Never faster than the rate; slower only by what a loaded machine delays the timer.
        Assert.InRange(span, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Bare_payload_is_the_image_file_itself_with_its_content_type()
    {
        await using var frames = await SubscribeAsync("edge/frames/cam-bare");

        await RunCameraAsync(new()
        {
            ["Id"] = "cam-bare", ["Source"] = TestData.Sample("dog.jpg"), ["Payload"] = "Bare",
            ["MaxFrames"] = "1"
        });

        var frame = Assert.Single(await Receive.ExactlyAsync(frames, 1, Timeout));
        Assert.Equal(ContentTypes.Jpeg, frame.ContentType);
        Assert.Equal(File.ReadAllBytes(TestData.Sample("dog.jpg")), frame.Payload.ToArray());
    }

    [Fact]
    public async Task Envelope_payload_is_a_MessagePack_frame_carrying_the_image()
    {
        await using var frames = await SubscribeAsync("edge/frames/cam-envelope");

        await RunCameraAsync(new()
        {
            ["Id"] = "cam-envelope", ["Source"] = TestData.Sample("dog.jpg"),
            ["MaxFrames"] = "1"
        });

        var message = Assert.Single(await Receive.ExactlyAsync(frames, 1, Timeout));
        Assert.Equal(ContentTypes.MessagePack, message.ContentType);
        var frame = Envelope(message);
        Assert.Equal(File.ReadAllBytes(TestData.Sample("dog.jpg")), frame.Data);
        Assert.Equal(frame.Id, message.MessageId);
    }

    [Fact]
    public async Task Unreadable_image_is_reported_on_the_error_topic_and_counted_and_the_others_are_published()
    {
        CopySample("bus.jpg", "a.jpg");
        File.WriteAllBytes(Path.Combine(_folder.FullName, "b-broken.jpg"), "this is no JPEG"u8.ToArray());
        await using var frames = await SubscribeAsync("edge/frames/cam-broken");
        await using var errors = await SubscribeAsync("edge/errors/cam-broken");

        var exited = await RunCameraAsync(new()
        {
            ["Id"] = "cam-broken", ["Source"] = _folder.FullName, ["Fps"] = "50",
            ["MaxFrames"] = "3"
        });

        var reported = Assert.Single(await Receive.ExactlyAsync(errors, 1, Timeout));
        var error = MessageCodec.Deserialize<ErrorEvent>(reported.Payload, reported.ContentType);
        output.WriteLine($"error event: {error.Kind}: {error.Message}");
        Assert.Equal((ErrorKinds.DecodeFailed, "cam-broken"), (error.Kind, error.Camera));
        Assert.Contains("b-broken.jpg", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, exited.Errors);
        var received = (await Receive.ExactlyAsync(frames, 3, Timeout)).Select(Envelope).ToList();
        Assert.All(received, f => Assert.Equal("a.jpg", f.Attributes!["source"]));
    }

    /// <summary>What a camera run left behind: frames handed to the transport, errors reported.</summary>
    private sealed record Exited(long Published, long Errors);

    /// <summary>Runs a camera host until it stops by itself (a frame count, or a source without loop).</summary>
    private async Task<Exited> RunCameraAsync(Dictionary<string, string?> camera)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Transport:Broker"] = _broker.Url,
            ["Transport:ClientId"] = $"camera-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in camera) configuration[$"{CameraOptions.Section}:{key}"] = value;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddCameraWorker(builder.Configuration);
        using var host = builder.Build();
        using var timeout = new CancellationTokenSource(Timeout);
        await host.StartAsync(timeout.Token);
        await host.WaitForShutdownAsync(timeout.Token);
        var component = host.Services.GetRequiredKeyedService<EdgeComponent>(CameraWorker.Component);
        return new Exited(host.Services.GetRequiredService<CameraWorker>().Published, component.Errors.Count);
    }

    private Task<IMessageSubscription> SubscribeAsync(string filter) =>
        _client.SubscribeAsync(new SubscriptionRequest(filter) { Capacity = 1000 }, default);

    private void CopySample(string sample, string name) =>
        File.Copy(TestData.Sample(sample), Path.Combine(_folder.FullName, name));

    private static Frame Envelope(ReceivedMessage message) =>
        MessageCodec.Deserialize<Frame>(message.Payload, message.ContentType);
}
