using Microsoft.Extensions.DependencyInjection;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// One condition <c>/readyz</c> requires (model loaded and warmed up, outbox not full, …). Register as many as
/// needed; the broker connection of every <see cref="Hosting.EdgeComponent"/> is checked without registering
/// anything.
/// </summary>
public interface IReadinessCheck
{
    /// <summary>Name shown in the <c>/readyz</c> body, e.g. <c>model</c>.</summary>
    string Name { get; }

    ValueTask<ReadinessResult> CheckAsync(CancellationToken ct);
}

/// <summary>Outcome of one readiness check; <see cref="Detail"/> says why it is not ready.</summary>
public readonly record struct ReadinessResult(bool IsReady, string Detail)
{
    public static ReadinessResult Ready(string detail = "ok") => new(true, detail);
    public static ReadinessResult NotReady(string detail) => new(false, detail);
}

public static class ReadinessServiceCollectionExtensions
{
    /// <summary>
    /// Adds a readiness check that asks a service, e.g.
    /// <c>services.AddReadinessCheck&lt;DetectorModel&gt;("model", m =&gt; m.IsWarm ? ReadinessResult.Ready() :
    /// ReadinessResult.NotReady("warming up"))</c>.
    /// </summary>
    public static IServiceCollection AddReadinessCheck<TService>(this IServiceCollection services, string name,
        Func<TService, ReadinessResult> check)
        where TService : notnull =>
        services.AddSingleton<IReadinessCheck>(sp =>
            new DelegateCheck(name, () => check(sp.GetRequiredService<TService>())));

    private sealed class DelegateCheck(string name, Func<ReadinessResult> check) : IReadinessCheck
    {
        public string Name => name;
        public ValueTask<ReadinessResult> CheckAsync(CancellationToken ct) => ValueTask.FromResult(check());
    }
}
