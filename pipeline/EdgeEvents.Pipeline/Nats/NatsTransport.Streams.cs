using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>
    /// Creates or updates a stream; one configured without sources keeps those it has, so a client with default
    /// options (an observer, a CLI command) does not cut the stream off from the streams it sources.
    /// </summary>
    private async Task CreateOrUpdateStreamAsync(StreamConfig config, CancellationToken ct)
    {
        if (config.Sources is null)
        {
            try
            {
                var existing = await _js.GetStreamAsync(config.Name!, cancellationToken: ct);
                if (existing.Info.Config.Sources is { Count: > 0 } sources) config = config with { Sources = sources };
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
                // Not there yet: created below.
            }
        }
        await _js.CreateOrUpdateStreamAsync(config, ct);
    }
}
