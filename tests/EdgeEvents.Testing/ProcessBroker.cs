using System.Diagnostics;
using System.Net.Sockets;

namespace EdgeEvents.Testing;

/// <summary>
/// A broker run as a child process (mosquitto, nats-server) on a free loopback port, with its store in a temp folder
/// that survives <see cref="RestartAsync"/> and is deleted on dispose.
/// </summary>
public abstract class ProcessBroker : IAsyncDisposable
{
    private Process? _process;
    private readonly System.Text.StringBuilder _output = new();

    protected ProcessBroker(string executable)
    {
        Executable = FindExecutable(executable) ?? throw new InvalidOperationException(
            $"'{executable}' is not installed: " +
            "apt-get install -y mosquitto mosquitto-clients nats-server (.ci/run does this).");
        Port = FreePort.Next();
        DataFolder = Directory.CreateTempSubdirectory("edge-broker-").FullName;
        // mosquitto started as root drops to its own user; it must still be able to write its store here.
        File.SetUnixFileMode(DataFolder, (UnixFileMode)0x1FF);
    }

    public string Executable { get; }
    public int Port { get; }
    public string DataFolder { get; }
    public abstract string Url { get; }
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// Process id of the running broker (for reading its CPU time and memory from /proc), or null when stopped.
    /// </summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>What the broker printed so far, for failure messages.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    protected abstract string Arguments();

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(Executable, Arguments())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = DataFolder,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {Executable}.");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Executable} exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"{Executable} did not accept connections on port {Port} within 15 s:\n{Output}");
    }

    /// <summary>Stops the broker: gracefully (SIGTERM, store flushed) or by SIGKILL.</summary>
    public async Task StopAsync(bool kill = false)
    {
        if (_process is null || _process.HasExited) return;
        if (kill) _process.Kill();
        else Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { _process.Kill(); await _process.WaitForExitAsync(); }
        _process.Dispose();
        _process = null;
    }

    public async Task RestartAsync(TimeSpan downtime = default)
    {
        await StopAsync();
        if (downtime > TimeSpan.Zero) await Task.Delay(downtime);
        await StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(kill: true);
        try { Directory.Delete(DataFolder, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }

    private static string? FindExecutable(string name)
    {
        var paths = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Concat(["/usr/sbin", "/usr/local/sbin", "/usr/bin"]);
        return paths.Select(p => Path.Combine(p, name)).FirstOrDefault(File.Exists);
    }
}

/// <summary>
/// mosquitto with persistence on, listening on a free loopback port, anonymous (tests of security use their own
/// config).
/// </summary>
public sealed class MosquittoBroker : ProcessBroker
{
    private readonly string _extraConfig;

    private MosquittoBroker(string extraConfig) : base("mosquitto") => _extraConfig = extraConfig;

    public override string Url => $"mqtt://127.0.0.1:{Port}";

    public string ConfigFile => Path.Combine(DataFolder, "mosquitto.conf");

    /// <summary>
    /// Starts mosquitto; <paramref name="extraConfig"/> replaces the anonymous default (e.g. password_file,
    /// acl_file).
    /// </summary>
    public static async Task<MosquittoBroker> StartNewAsync(string? extraConfig = null)
    {
        var broker = new MosquittoBroker(extraConfig ?? "allow_anonymous true\n");
        await File.WriteAllTextAsync(broker.ConfigFile, $"""
            listener {broker.Port} 127.0.0.1
            persistence true
            persistence_location {broker.DataFolder}/
            autosave_interval 1
            max_queued_messages 100000
            log_dest stderr
            log_type error
            log_type warning
            {broker._extraConfig}
            """);
        await broker.StartAsync();
        return broker;
    }

    protected override string Arguments() => $"-c {ConfigFile}";
}
