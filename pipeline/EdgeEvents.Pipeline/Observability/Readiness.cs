using System.Text;
using EdgeEvents.Pipeline.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>The result of every readiness check, as <c>/readyz</c> reports it.</summary>
public sealed record ReadinessReport(IReadOnlyList<(string Name, ReadinessResult Result)> Checks)
{
    public bool IsReady => Checks.All(c => c.Result.IsReady);

    /// <summary>
    /// First line <c>ready</c> or <c>not ready</c>, then one line per check: <c>ok|fail name: detail</c>.
    /// </summary>
    public override string ToString()
    {
        var text = new StringBuilder(IsReady ? "ready\n" : "not ready\n");
        foreach (var (name, result) in Checks)
            text.Append(result.IsReady ? "ok   " : "fail ")
                .Append(name).Append(": ").Append(result.Detail).Append('\n');
        return text.ToString();
    }
}

/// <summary>
/// Runs the readiness checks: the host is not stopping, every <see cref="EdgeComponent"/> of the host is connected to
/// its broker, and every registered <see cref="IReadinessCheck"/> passes within
/// <see cref="HealthOptions.CheckTimeout"/>.
/// </summary>
public sealed class ReadinessProbe(IServiceProvider services, IEnumerable<IReadinessCheck> checks,
    IHostApplicationLifetime lifetime, IOptions<HealthOptions> options)
{
    public async Task<ReadinessReport> CheckAsync(CancellationToken ct)
    {
        var results = new List<(string, ReadinessResult)>();
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            results.Add(("host", ReadinessResult.NotReady("stopping")));
        foreach (var component in services.GetKeyedServices<EdgeComponent>(KeyedService.AnyKey))
        {
            var transport = component.Transport;
            results.Add(($"broker:{component.Name}", transport.IsConnected
                ? ReadinessResult.Ready($"connected ({transport.System})")
                : ReadinessResult.NotReady($"not connected to the {transport.System} broker")));
        }
        foreach (var check in checks)
            results.Add((check.Name, await RunAsync(check, ct)));
        return new ReadinessReport(results);
    }

    private async Task<ReadinessResult> RunAsync(IReadinessCheck check, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.CheckTimeout);
        try
        {
            return await check.CheckAsync(timeout.Token).AsTask().WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return ReadinessResult.NotReady($"no answer within {options.Value.CheckTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ReadinessResult.NotReady($"check failed: {ex.Message}");
        }
    }
}

/// <summary>
/// Liveness: a loop that ticks every second on the thread pool. If it stops ticking (thread-pool starvation, a
/// deadlocked process) <c>/healthz</c> fails and Kubernetes restarts the pod; a lost broker does not affect it.
/// </summary>
public sealed class Heartbeat(IOptions<HealthOptions> options) : BackgroundService
{
    private long _lastBeat = Environment.TickCount64;

    public TimeSpan SinceLastBeat =>
        TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastBeat));

    public bool IsAlive => SinceLastBeat <= options.Value.LivenessTimeout;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do Interlocked.Exchange(ref _lastBeat, Environment.TickCount64);
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) { }
    }
}
