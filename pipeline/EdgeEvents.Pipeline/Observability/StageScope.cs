using System.Diagnostics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// One processing stage: a span (current until disposed, null when nobody listens) and a timer recorded as
/// <c>edge.stage.duration{component, stage}</c> on dispose. Start it with <see cref="EdgeTelemetry.StartProcessing"/>
/// or <see cref="EdgeTelemetry.StartStage"/> in a <c>using</c>.
/// </summary>
public readonly struct StageScope : IDisposable
{
    private readonly string _component;
    private readonly string _stage;
    private readonly long _started;

    private StageScope(string component, string stage, Activity? activity)
    {
        _component = component;
        _stage = stage;
        _started = Stopwatch.GetTimestamp();
        Activity = activity;
    }

    /// <summary>The span, for extra tags; null when tracing is off.</summary>
    public Activity? Activity { get; }

    /// <summary>
    /// This span's context, to continue the trace in later work
    /// (<see cref="EdgeTelemetry.StartProcessing(string, string, ActivityContext)"/>).
    /// </summary>
    public ActivityContext Context => Activity?.Context ?? default;

    internal static StageScope Start(string component, string stage, ActivityContext parent, ReceivedMessage? message)
    {
        // A default parent makes the span a child of Activity.Current (or a new trace when there is none).
        var activity = EdgeTelemetry.Source(component).StartActivity(stage, ActivityKind.Internal, parent);
        if (activity is not null && message is not null)
        {
            activity.SetTag(MessagingTags.DestinationName, message.Topic);
            if (message.MessageId is not null) activity.SetTag(MessagingTags.MessageId, message.MessageId);
        }
        return new StageScope(component, stage, activity);
    }

    public StageScope SetTag(string key, object? value)
    {
        Activity?.SetTag(key, value);
        return this;
    }

    /// <summary>
    /// Links the span to another trace, e.g. an answer to the scene updates it used
    /// (<see cref="EdgeTelemetry.ContextOf"/>).
    /// </summary>
    public StageScope AddLink(ActivityContext context)
    {
        if (context != default) Activity?.AddLink(new ActivityLink(context));
        return this;
    }

    /// <summary>Marks the span failed; the stage duration is still recorded.</summary>
    public void Fail(Exception exception)
    {
        if (Activity is null) return;
        Activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        Activity.AddException(exception);
    }

    public void Dispose()
    {
        if (_component is null) return;
        EdgeTelemetry.RecordStage(_component, _stage, Stopwatch.GetElapsedTime(_started).TotalMilliseconds);
        Activity?.Dispose();
    }
}
