using System.Security.Cryptography;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Pipeline.Mqtt;

public sealed partial class MqttTransport
{
    /// <summary>
    /// MQTT 5 request/response: subscribes to the request's response topic, publishes with fresh correlation data,
    /// and returns the first reply carrying the same correlation data.
    /// </summary>
    public async Task<ReceivedMessage> RequestAsync(OutgoingMessage request, TimeSpan timeout, CancellationToken ct)
    {
        var responseTopic = request.ResponseTopic
            ?? throw new ArgumentException("An MQTT request needs a ResponseTopic.", nameof(request));
        var correlation = request.CorrelationData.IsEmpty
            ? RandomNumberGenerator.GetBytes(16)
            : request.CorrelationData.ToArray();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await using var replies =
            await SubscribeAsync(new SubscriptionRequest(responseTopic) { Capacity = 64 }, deadline.Token);
        await PublishAsync(request with { CorrelationData = correlation }, deadline.Token);
        try
        {
            await foreach (var reply in replies.Messages.ReadAllAsync(deadline.Token))
                if (reply.CorrelationData.Span.SequenceEqual(correlation)) return reply;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
        throw new TimeoutException($"No reply on '{responseTopic}' within {timeout.TotalSeconds:0.#} s.");
    }
}
