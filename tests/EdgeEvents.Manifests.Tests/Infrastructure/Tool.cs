using System.Diagnostics;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>External programs the tests drive (kubectl, shellcheck, mosquitto_passwd, …), found on PATH.</summary>
public static class Tool
{
    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    public static string Require(string name) =>
        Find(name) ?? throw new InvalidOperationException($"{name} is not on PATH.");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>
    /// Runs a program to completion; a run longer than <paramref name="limit"/> is killed and fails the test.
    /// </summary>
    public static Result Run(string program, IEnumerable<string> args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? limit = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Repository.Root,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        if (environment is not null)
        {
            start.Environment.Clear();
            foreach (var (key, value) in environment) start.Environment[key] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // A safety net against a hung child, not a timing assertion.
        if (!process.WaitForExit(limit ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {limit}.");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact that is skipped, saying why, when a program it needs is not on PATH.</summary>
public sealed class RequiresFactAttribute : FactAttribute
{
    public RequiresFactAttribute(params string[] programs)
    {
        var missing = programs.Where(p => Tool.Find(p) is null).ToList();
        if (missing.Count > 0)
        {
            Skip = $"{string.Join(", ", missing)} not found on PATH " +
                "(CI installs it: apt-get install kubectl/shellcheck/mosquitto).";
        }
    }
}

/// <summary>A theory that is skipped, saying why, when a program it needs is not on PATH.</summary>
public sealed class RequiresTheoryAttribute : TheoryAttribute
{
    public RequiresTheoryAttribute(params string[] programs)
    {
        var missing = programs.Where(p => Tool.Find(p) is null).ToList();
        if (missing.Count > 0)
        {
            Skip = $"{string.Join(", ", missing)} not found on PATH " +
                "(CI installs it: apt-get install kubectl/shellcheck/mosquitto).";
        }
    }
}
