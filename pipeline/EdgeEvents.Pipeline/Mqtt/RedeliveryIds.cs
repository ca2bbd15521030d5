using System.Security.Cryptography;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Pipeline.Reliability;
using Microsoft.Data.Sqlite;
using MQTTnet;

namespace EdgeEvents.Pipeline.Mqtt;

/// <summary>
/// Gives an MQTT message that carries no id of its own (a plain-text question from <c>mosquitto_pub</c>, a bare
/// JPEG) an id that its redeliveries share, so handlers and ledgers that key on ids see one message, not two.
/// <para>
/// MQTT 5 §4.4 (and 3.1.1): on a resumed session the broker resends an unacknowledged PUBLISH with its original packet
/// identifier and DUP set; mosquitto does exactly that. So a delivery with DUP clear is a first delivery and gets a
/// new id, recorded under (packet identifier, hash of topic, payload and properties); a delivery with DUP set takes
/// the id recorded under the same key, or a new one when its first delivery never arrived. A deliberate repeat of the
/// same text is a new PUBLISH (DUP clear), so two identical questions asked on purpose stay two. A packet identifier
/// is reused only after its message was acknowledged, and the most recent record per key wins, so a reused
/// identifier never maps a new message to an old id.
/// </para>
/// <para>
/// MQTTnet's server renumbers resent packets and leaves DUP clear, so the embedded broker stamps an id on every
/// id-less QoS 1 message instead (its <c>MessageIds</c>); such messages never reach this class.
/// </para>
/// Records live for <see cref="Window"/> (at most <see cref="Capacity"/>); with a file (beside the outbox) they
/// survive a process kill, which is when the broker redelivers what the killed process had not acknowledged.
/// </summary>
internal sealed class RedeliveryIds : IDisposable
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Id, DateTime At)> _ids = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, DateTime At)> _order = new();
    private readonly SqliteConnection? _file;

    private RedeliveryIds(SqliteConnection? file) => _file = file;

    /// <summary>In memory only: ids hold across reconnects, not across a restart.</summary>
    public static RedeliveryIds InMemory() => new(null);

    /// <summary>Kept in <paramref name="path"/> too (SQLite, survives a process kill).</summary>
    public static RedeliveryIds Open(string path)
    {
        var file = SqliteFile.Open(path, flushToDisk: false, """
            CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, id TEXT NOT NULL, at INTEGER NOT NULL);
            """, "each component needs its own file of delivery ids");
        var ids = new RedeliveryIds(file);
        using var command = file.CreateCommand();
        command.CommandText =
            "DELETE FROM deliveries WHERE at < $oldest; SELECT key, id, at FROM deliveries ORDER BY at";
        command.Parameters.AddWithValue("$oldest", (DateTime.UtcNow - Window).Ticks);
        using var reader = command.ExecuteReader();
        while (reader.Read())
            ids.Remember(reader.GetString(0), reader.GetString(1), new DateTime(reader.GetInt64(2), DateTimeKind.Utc));
        return ids;
    }

    /// <summary>The file beside an outbox file: <c>llm.outbox.db</c> → <c>llm.outbox.deliveries.db</c>.</summary>
    public static string PathBeside(string outboxPath) => Path.ChangeExtension(outboxPath, null) + ".deliveries.db";

    /// <summary>The id of a received id-less QoS ≥ 1 message (see the class remarks).</summary>
    public string IdFor(MqttApplicationMessage message, ushort packetIdentifier)
    {
        var key = $"{packetIdentifier}:{Hash(message)}";
        lock (_gate)
        {
            if (message.Dup && _ids.TryGetValue(key, out var known)) return known.Id;
            var id = MessageId.New();
            var now = DateTime.UtcNow;
            Remember(key, id, now);
            if (_file is not null) Save(key, id, now);
            return id;
        }
    }

    private void Remember(string key, string id, DateTime at)
    {
        _ids[key] = (id, at);
        _order.Enqueue((key, at));
        while (_order.Count > Capacity || (_order.Count > 0 && at - _order.Peek().At > Window))
        {
            var (old, oldAt) = _order.Dequeue();
            // The key may have been recorded again since (a reused packet identifier): keep the newer record.
            if (_ids.TryGetValue(old, out var current) && current.At == oldAt) _ids.Remove(old);
            if (_file is not null) Delete(old, oldAt);
        }
    }

    private void Save(string key, string id, DateTime at)
    {
        using var command = _file!.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO deliveries (key, id, at) VALUES ($key, $id, $at)";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$at", at.Ticks);
        command.ExecuteNonQuery();
    }

    private void Delete(string key, DateTime at)
    {
        using var command = _file!.CreateCommand();
        command.CommandText = "DELETE FROM deliveries WHERE key = $key AND at <= $at";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$at", at.Ticks);
        command.ExecuteNonQuery();
    }

    /// <summary>What makes two deliveries the same message besides the packet identifier.</summary>
    private static string Hash(MqttApplicationMessage message)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(ReadOnlySpan<byte> part)
        {
            Span<byte> length = stackalloc byte[4];
            BitConverter.TryWriteBytes(length, part.Length);
            hash.AppendData(length);
            hash.AppendData(part);
        }
        Add(Encoding.UTF8.GetBytes(message.Topic));
        Add(Encoding.UTF8.GetBytes(message.ContentType ?? ""));
        Add(Encoding.UTF8.GetBytes(message.ResponseTopic ?? ""));
        Add(message.CorrelationData ?? []);
        foreach (var segment in message.Payload) hash.AppendData(segment.Span);
        return Convert.ToHexString(hash.GetHashAndReset(), 0, 16);
    }

    public void Dispose() => _file?.Dispose();
}
