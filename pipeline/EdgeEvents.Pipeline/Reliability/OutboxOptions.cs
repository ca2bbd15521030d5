namespace EdgeEvents.Pipeline.Reliability;

/// <summary>
/// The store-and-forward outbox of at-least-once publications. Bound from <c>Transport:Outbox</c> (or
/// <c>Transport:{component}:Outbox</c>). The outbox is on when <see cref="Path"/> is set.
/// </summary>
public sealed record OutboxOptions
{
    /// <summary>
    /// SQLite file holding the outbox; <c>{component}</c> is replaced by the component name so components sharing one
    /// configuration get one file each. Default null: no outbox, at-least-once publishes wait for the broker instead.
    /// </summary>
    public string? Path { get; init; }

    /// <summary>Most messages held; beyond it the oldest are dropped and counted. Default 100,000.</summary>
    public int MaxMessages { get; init; } = 100_000;

    /// <summary>Most payload bytes held; beyond it the oldest are dropped and counted. Default 256 MiB.</summary>
    public long MaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// True: every accepted publish is flushed to the disk before <c>PublishAsync</c> returns, so it survives a power
    /// cut (SQLite <c>synchronous=FULL</c>, ~1,500 publishes/s here). False: it survives a process kill but the last
    /// moments may be lost on power loss (<c>synchronous=NORMAL</c>, ~20× faster). Default true.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>
    /// How long disposing waits for the outbox to drain while connected; the rest stays on disk for the next start.
    /// Default 2 s.
    /// </summary>
    public TimeSpan DrainOnDispose { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Failed attempts, while the link is up, after which one message is given up (logged, counted) so it cannot block
    /// the queue. Default 5.
    /// </summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The path for one component.</summary>
    public string ResolvePath(string component) =>
        (Path ?? throw new InvalidOperationException("Outbox path is not set."))
            .Replace("{component}", component, StringComparison.Ordinal);
}
