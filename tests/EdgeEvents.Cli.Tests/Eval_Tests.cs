using System.Text.Json.Nodes;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Cli.Tests;

public sealed class Eval_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData("yolov8n_int8_dynamic_opset11.onnx", 0.9, 0)]
    [InlineData("yolox_nano_416.onnx", 0.9, 1)]
    [InlineData("yolox_nano_416.onnx", 0.5, 0)]
    public async Task The_exit_code_of_eval_follows_the_agreement_threshold(
        string candidate, double minAgreement, int exitCode)
    {
        var minAgreementText = minAgreement.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var eval = CliProcess.StartEdgeEvents("eval", "--model", TestData.Model(candidate),
            "--reference", TestData.Model("yolov8n_int8_dynamic.onnx"),
            "--images", TestData.SamplesFolder, "--min-agreement", minAgreementText, "--json");

        var code = await eval.WaitForExitAsync(Timeout);
        var report = JsonNode.Parse(string.Join('\n', eval.OutputSoFar))!;
        output.WriteLine(report.ToJsonString());

        Assert.True(code == exitCode, $"exit code {code}, expected {exitCode}\n{eval.StandardError}");
        Assert.Equal(5, (int)report["images"]!);
        Assert.Equal(exitCode == 0, (bool)report["passed"]!);
        var agreement = (double)report["agreement"]!;
        Assert.Equal(agreement >= minAgreement, exitCode == 0);
        Assert.Contains(report["classes"]!.AsArray(), c => (string?)c!["label"] == "person");
    }

    [Fact]
    public async Task Eval_of_a_missing_image_folder_is_a_usage_error()
    {
        await using var eval = CliProcess.StartEdgeEvents("eval",
            "--model", TestData.Model("yolov8n_int8_dynamic.onnx"),
            "--reference", TestData.Model("yolov8n_int8_dynamic.onnx"), "--images", "/no/such/folder");

        Assert.Equal(2, await eval.WaitForExitAsync(Timeout));
        Assert.Contains("/no/such/folder", eval.StandardError);
    }
}
