using System.Text.RegularExpressions;
using EdgeEvents.Testing;

namespace EdgeEvents.Cli.Tests;

public sealed class Demo_Tests
{
    [Fact]
    public async Task The_demo_shows_detections_scene_events_and_an_answer_then_stops_with_a_summary()
    {
        await using var demo = CliProcess.StartEdgeEvents("demo", "--duration", "40s", "--port", "0",
            "--model", TestData.Model("yolov8n_int8_dynamic.onnx"), "--llm-model", TestData.Model("stories260K.gguf"));

        Assert.Equal(0, await demo.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        var output = string.Join('\n', demo.OutputSoFar);
        Assert.Matches(@"embedded MQTT broker on mqtt://127\.0\.0\.1:\d+", output);
        Assert.Matches(@"cam1 +\d+\.\d fps +inference +\d+ ms +frame \d+ +sees .*person", output);
        Assert.Matches(@"event new +person cam1-\d{14}-\d+", output);
        Assert.Matches(@"answer to demo \[(ok|timeout|error)\]: There (is|are) (no|\d+) \w+", output);
        var summary = Regex.Match(output,
            @"demo: (\d+) frames published, (\d+) detection sets, (\d+) scene events, \d+ questions, " +
            @"(\d+) answers, (\d+) errors");
        Assert.True(summary.Success, output);
        Assert.True(int.Parse(summary.Groups[2].Value) > 0 && int.Parse(summary.Groups[3].Value) > 0 &&
            int.Parse(summary.Groups[4].Value) >= 1, summary.Value);
        Assert.Equal("0", summary.Groups[5].Value);
    }

    [Fact]
    public async Task Without_a_detector_model_the_demo_says_which_file_to_put_where()
    {
        var empty = Directory.CreateTempSubdirectory("edge-demo-").FullName;
        await using var demo = CliProcess.StartEdgeEvents("demo", "--duration", "5s", "--port", "0",
            "--model", Path.Combine(empty, "missing.onnx"));

        Assert.Equal(2, await demo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("No detector model (YOLOv8 .onnx) found", demo.StandardError);
        Assert.Contains("models/", demo.StandardError);
        Assert.Contains("--model", demo.StandardError);
    }
}
