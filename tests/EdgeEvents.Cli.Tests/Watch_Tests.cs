using System.Diagnostics;
using System.Text.Json.Nodes;
using EdgeEvents.Testing;

namespace EdgeEvents.Cli.Tests;

public sealed class Watch_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_jpeg_sent_with_mosquitto_pub_to_the_embedded_broker_is_printed_by_watch()
    {
        await using var brokerProcess = CliProcess.StartEdgeEvents("broker", "--port", "0");
        var url = brokerProcess.WaitForLine(l => l.StartsWith("mqtt://", StringComparison.Ordinal), Timeout);
        var port = new Uri(url).Port;
        await using var watch = CliProcess.StartEdgeEvents("watch", "edge/frames/+", "--broker", url);
        await WaitUntilSubscribedAsync(watch, url);

        // mosquitto_pub's defaults: MQTT 3.1.1 and an empty client id.
        string[] pubArguments =
            ["-h", "127.0.0.1", "-p", port.ToString(), "-t", "edge/frames/cam7", "-f", TestData.Sample("bus.jpg")];
        using (var pub = Process.Start("mosquitto_pub", pubArguments)!)
        {
            await pub.WaitForExitAsync();
            Assert.Equal(0, pub.ExitCode);
        }

        var line = JsonNode.Parse(
            watch.WaitForLine(l => l.Contains("edge/frames/cam7", StringComparison.Ordinal), Timeout))!;
        Assert.Equal("edge/frames/cam7", (string?)line["topic"]);
        Assert.Equal(new FileInfo(TestData.Sample("bus.jpg")).Length, (long)line["bytes"]!);
        Assert.Equal("cam7", (string?)line["frame"]!["camera"]);
        Assert.Equal("jpeg", (string?)line["frame"]!["encoding"]);
    }

    [Fact]
    public async Task Watch_prints_json_payloads_inline_and_frames_from_the_camera_with_their_size()
    {
        await using var brokerProcess = CliProcess.StartEdgeEvents("broker", "--port", "0");
        var url = brokerProcess.WaitForLine(l => l.StartsWith("mqtt://", StringComparison.Ordinal), Timeout);
        await using var watch = CliProcess.StartEdgeEvents("watch", "--broker", url);
        await WaitUntilSubscribedAsync(watch, url);

        await using var camera = CliProcess.StartEdgeEvents("camera", "--broker", url, "--camera", "door",
            "--source", TestData.Sample("zidane.jpg"), "--count", "1");
        Assert.Equal(0, await camera.WaitForExitAsync(Timeout));

        var frame = JsonNode.Parse(
            watch.WaitForLine(l => l.Contains("edge/frames/door", StringComparison.Ordinal), Timeout))!;
        Assert.Equal(1280, (int)frame["frame"]!["width"]!);
        Assert.Equal(720, (int)frame["frame"]!["height"]!);
        Assert.Equal(0, (long)frame["frame"]!["sequence"]!);
    }

    /// <summary>Publishes probes until watch prints one, so the test does not race its subscription.</summary>
    private static async Task WaitUntilSubscribedAsync(CliProcess watch, string url)
    {
        await using var probe = await TestTransports.ConnectAsync(url);
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            await probe.PublishAsync(
                new Pipeline.Transport.OutgoingMessage("edge/frames/probe", "{}"u8.ToArray()), default);
            try
            {
                watch.WaitForLine(l => l.Contains("edge/frames/probe", StringComparison.Ordinal),
                    TimeSpan.FromMilliseconds(500));
                return;
            }
            catch (TimeoutException) when (!watch.HasExited) { }
        }
        throw new TimeoutException($"watch never subscribed:\n{watch.StandardError}");
    }
}
