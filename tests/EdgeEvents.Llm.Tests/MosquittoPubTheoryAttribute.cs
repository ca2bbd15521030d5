using System.Diagnostics;

namespace EdgeEvents.Llm.Tests;

/// <summary>
/// A theory that needs the real <c>mosquitto_pub</c> client; skipped, saying so, where it is not installed.
/// </summary>
public sealed class MosquittoPubTheoryAttribute : TheoryAttribute
{
    public const string Path = "/usr/bin/mosquitto_pub";

    public MosquittoPubTheoryAttribute()
    {
        if (!File.Exists(Path))
            Skip = $"{Path} is not installed (apt-get install -y mosquitto-clients; CI installs it).";
    }

    /// <summary>Runs mosquitto_pub; its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
