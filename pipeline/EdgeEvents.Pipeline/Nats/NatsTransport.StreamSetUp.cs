using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>JetStream's error code for "stream not found".</summary>
    private const int StreamNotFound = 10059;

    /// <summary>Streams whose refused create or update has been logged: once per stream and transport.</summary>
    private readonly HashSet<string> _loggedRefusals = [];

    /// <summary>
    /// Reads the stream first; creates it only when missing, updates it only when a setting this client sets differs.
    /// So a user allowed only <c>$JS.API.STREAM.INFO</c> (the shipped authorization gives create and update to the
    /// stream-owning roles alone) works against streams set up as it wants. A refused update leaves the stream as it
    /// is; a refused create throws, and set-up retries until a user that may create it has. A client configured without
    /// sources keeps those the stream has, so one with default options (an observer, a CLI command) does not cut a
    /// fleet site's stream off from the hub stream it sources.
    /// </summary>
    private async Task EnsureStreamAsync(StreamConfig wanted, CancellationToken ct)
    {
        var name = wanted.Name!;
        StreamConfig? existing;
        try
        {
            existing = (await _js.GetStreamAsync(name, cancellationToken: ct)).Info.Config;
        }
        catch (NatsJSApiException ex) when (ex.Error.ErrCode == StreamNotFound)
        {
            existing = null;
        }
        if (wanted.Sources is null && existing?.Sources is { Count: > 0 } sources)
            wanted = wanted with { Sources = sources };
        var differences = existing is null ? [] : Differences(existing, wanted);
        if (existing is not null && differences.Count == 0) return;
        if (_jetStream?.ManageStreams == false)
        {
            if (existing is not null)
            {
                if (_loggedRefusals.Add(name))
                {
                    _logger.LogInformation("Stream {Stream} differs from this client's settings ({Differences}); " +
                        "using it as it is (ManageStreams is false)", name, string.Join("; ", differences));
                }
                return;
            }
            if (_loggedRefusals.Add(name))
            {
                _logger.LogWarning("Stream {Stream} is missing; waiting for a stream owner to create it " +
                    "(ManageStreams is false)", name);
            }
            throw new InvalidOperationException($"Stream {name} is missing and this client does not create streams");
        }
        var action = existing is null ? "create" : "update";
        var permission = $"$JS.API.STREAM.{action.ToUpperInvariant()}.{name}";
        try
        {
            if (existing is null) await _js.CreateStreamAsync(wanted, ct);
            else await _js.UpdateStreamAsync(wanted, ct);
            _logger.LogInformation("Stream {Stream}: {Action}d ({Differences})", name, action,
                existing is null ? "it was missing" : string.Join("; ", differences));
        }
        // nats-server drops a request its user may not publish (logging a Publish Violation), so no answer ever comes.
        catch (NatsJSApiNoResponseException) when (!ct.IsCancellationRequested)
        {
            var consequence = existing is null
                ? "Waiting for a user that may create it."
                : $"Using it as it is ({string.Join("; ", differences)}).";
            if (_loggedRefusals.Add(name))
            {
                _logger.LogError("User {User} may not {Action} stream {Stream}: {Permission} went unanswered " +
                    "(a missing permission; the stream-owning roles have it). {Consequence}",
                    _options.Username ?? "(anonymous)", action, name, permission, consequence);
            }
            if (existing is null)
                throw new InvalidOperationException($"Stream {name} is missing and {permission} went unanswered");
        }
    }

    /// <summary>The settings this transport sets that differ in <paramref name="existing"/>.</summary>
    private static List<string> Differences(StreamConfig existing, StreamConfig wanted)
    {
        var differences = new List<string>();
        void Compare<T>(string setting, T have, T want)
        {
            if (!EqualityComparer<T>.Default.Equals(have, want)) differences.Add($"{setting} {have}, wanted {want}");
        }
        static string Subjects(StreamConfig config) => string.Join(' ', config.Subjects ?? []);
        static string Sources(StreamConfig config) =>
            string.Join(' ', (config.Sources ?? []).Select(s => $"{s.Name}@{s.External?.Api ?? "local"}"));
        Compare(nameof(wanted.Subjects), Subjects(existing), Subjects(wanted));
        Compare(nameof(wanted.Sources), Sources(existing), Sources(wanted));
        Compare(nameof(wanted.Storage), existing.Storage, wanted.Storage);
        Compare(nameof(wanted.Discard), existing.Discard, wanted.Discard);
        Compare(nameof(wanted.MaxAge), existing.MaxAge, wanted.MaxAge);
        // The server reports an unset limit as -1, a new StreamConfig holds 0: both mean "no limit".
        Compare(nameof(wanted.MaxBytes), Limit(existing.MaxBytes), Limit(wanted.MaxBytes));
        Compare(nameof(wanted.MaxMsgs), Limit(existing.MaxMsgs), Limit(wanted.MaxMsgs));
        Compare(nameof(wanted.MaxMsgsPerSubject), Limit(existing.MaxMsgsPerSubject), Limit(wanted.MaxMsgsPerSubject));
        return differences;
    }

    private static long Limit(long value) => value <= 0 ? -1 : value;
}
