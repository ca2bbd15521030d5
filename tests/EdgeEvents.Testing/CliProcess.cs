using System.Collections.Concurrent;
using System.Diagnostics;

namespace EdgeEvents.Testing;

/// <summary>
/// The real <c>edge-events</c> executable (or any program) as a child process, with its stdout lines collected for
/// assertions and stderr kept for failure messages.
/// </summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = new();
    private readonly ConcurrentQueue<string> _all = new();
    private readonly System.Text.StringBuilder _stderr = new();

    private CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) _lines.CompleteAdding();
            else { _all.Enqueue(e.Data); _lines.Add(e.Data); }
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Path of edge-events.dll copied beside the test assembly (test projects reference the CLI project).
    /// </summary>
    public static string EdgeEventsDll => Path.Combine(AppContext.BaseDirectory, "edge-events.dll");

    /// <summary>Starts <c>dotnet edge-events.dll args…</c>.</summary>
    public static CliProcess StartEdgeEvents(params string[] args) => Start("dotnet", [EdgeEventsDll, .. args]);

    public static CliProcess Start(
        string fileName, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
        return new CliProcess(
            Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}."));
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public string StandardError { get { lock (_stderr) return _stderr.ToString(); } }
    public IReadOnlyCollection<string> OutputSoFar => _all.ToArray();

    /// <summary>
    /// The next stdout line matching <paramref name="predicate"/>, or a TimeoutException with what was seen.
    /// </summary>
    public string WaitForLine(Func<string, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            foreach (var line in _lines.GetConsumingEnumerable(cts.Token))
                if (predicate(line)) return line;
        }
        catch (OperationCanceledException) { }
        throw new TimeoutException($"No matching line within {timeout.TotalSeconds:0.#} s.\n" +
            $"stdout:\n{string.Join('\n', _all)}\nstderr:\n{StandardError}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Ctrl-C: SIGINT, as a user would stop it.</summary>
    public void Interrupt() => Process.Start("kill", ["-INT", _process.Id.ToString()])!.WaitForExit();

    /// <summary>kill -9.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _lines.Dispose();
    }
}
