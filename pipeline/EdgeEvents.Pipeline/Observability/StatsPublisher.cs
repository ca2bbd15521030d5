using System.Globalization;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// Every <see cref="StatsOptions.Interval"/>, publishes a <see cref="StatusMessage"/> (JSON) on
/// <c>{prefix}/stats/{component}</c> for each component of the host, like Frigate's <c>stats</c>, and writes the same
/// values as one log line. At most once and not retained: a missed interval is replaced by the next.
/// </summary>
internal sealed class StatsPublisher(StatsCollector collector, IServiceProvider services,
    IOptions<StatsOptions> options, ILogger<StatsPublisher> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                collector.Collect();
                foreach (var component in services.GetKeyedServices<EdgeComponent>(KeyedService.AnyKey))
                    await PublishAsync(component, stoppingToken);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task PublishAsync(EdgeComponent component, CancellationToken ct)
    {
        var values = collector.Snapshot(component.Name);
        values["uptime_s"] = Math.Round((DateTimeOffset.UtcNow - _startedAt).TotalSeconds);
        var status = new StatusMessage
        {
            Component = component.Name, StartedAt = _startedAt, Host = Environment.MachineName, Values = values,
        };
        if (options.Value.Log) logger.LogInformation("{Component} stats: {Stats}", component.Name, Format(values));
        if (!component.Transport.IsConnected) return;
        try
        {
            // Not a trace of its own every interval.
            using var _ = SuppressInstrumentationScope.Begin();
            var payload = MessageCodec.Serialize(status, PayloadFormat.Json);
            await component.Transport.PublishAsync(new OutgoingMessage(component.Topics.Stats(component.Name), payload)
            {
                ContentType = ContentTypes.Json, Delivery = Delivery.AtMostOnce, MessageId = status.Id,
            }, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogDebug(ex, "Could not publish stats of {Component}", component.Name);
        }
    }

    private static string Format(Dictionary<string, double> values) =>
        string.Join(' ', values.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => $"{v.Key}={v.Value.ToString("0.##", CultureInfo.InvariantCulture)}"));
}
