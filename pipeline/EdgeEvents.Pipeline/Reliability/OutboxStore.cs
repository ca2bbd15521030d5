using System.Text.Json;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Data.Sqlite;

namespace EdgeEvents.Pipeline.Reliability;

/// <summary>One message waiting in the outbox, with its position.</summary>
internal sealed record OutboxEntry(long Sequence, OutgoingMessage Message, DateTimeOffset? ExpiresAt);

/// <summary>
/// The outbox's SQLite file (opened by <see cref="SqliteFile"/>): one table ordered by an autoincrement sequence.
/// SQLite connections are not thread-safe, so every call takes <see cref="_gate"/>.
/// </summary>
internal sealed class OutboxStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly OutboxOptions _options;
    private readonly Lock _gate = new();
    private long _count;
    private long _bytes;
    private long _droppedThrough;

    private OutboxStore(SqliteConnection connection, OutboxOptions options)
    {
        _connection = connection;
        _options = options;
    }

    public long Count { get { lock (_gate) return _count; } }
    public long Bytes { get { lock (_gate) return _bytes; } }
    /// <summary>Highest sequence dropped by overflow: the sender skips what it read before the drop.</summary>
    public long DroppedThrough { get { lock (_gate) return _droppedThrough; } }

    public static OutboxStore Open(string path, OutboxOptions options)
    {
        var connection = SqliteFile.Open(path, options.FlushToDisk, """
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                topic TEXT NOT NULL,
                payload BLOB NOT NULL,
                content_type TEXT,
                retain INTEGER NOT NULL,
                expires_at INTEGER,
                response_topic TEXT,
                correlation BLOB,
                message_id TEXT NOT NULL,
                headers TEXT);
            CREATE TABLE IF NOT EXISTS outbox_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """, "each component needs its own outbox file");
        var store = new OutboxStore(connection, options);
        using var totals = connection.CreateCommand();
        totals.CommandText = "SELECT COUNT(*), COALESCE(SUM(length(payload)), 0) FROM outbox";
        using (var reader = totals.ExecuteReader())
        {
            reader.Read();
            store._count = reader.GetInt64(0);
            store._bytes = reader.GetInt64(1);
        }
        return store;
    }

    /// <summary>
    /// Appends a message durably; drops the oldest first when the limits would be exceeded. Returns how
    /// many were dropped.
    /// </summary>
    public int Append(OutgoingMessage message, DateTimeOffset? expiresAt)
    {
        var size = message.Payload.Length;
        if (size > _options.MaxBytes)
            throw new ArgumentException(
                $"A {size}-byte message cannot fit an outbox of {_options.MaxBytes} bytes.", nameof(message));
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            var dropped = 0;
            while (_count > 0 && (_count + 1 > _options.MaxMessages || _bytes + size > _options.MaxBytes))
            {
                using var drop = _connection.CreateCommand();
                drop.CommandText =
                    "DELETE FROM outbox WHERE seq = (SELECT MIN(seq) FROM outbox) RETURNING seq, length(payload)";
                using var reader = drop.ExecuteReader();
                reader.Read();
                _droppedThrough = reader.GetInt64(0);
                _count--;
                _bytes -= reader.GetInt64(1);
                dropped++;
            }
            using (var insert = _connection.CreateCommand())
            {
                insert.CommandText = """
                    INSERT INTO outbox (topic, payload, content_type, retain, expires_at, response_topic, correlation,
                        message_id, headers)
                    VALUES ($topic, $payload, $contentType, $retain, $expiresAt, $responseTopic, $correlation,
                        $messageId, $headers)
                    """;
                insert.Parameters.AddWithValue("$topic", message.Topic);
                insert.Parameters.Add("$payload", SqliteType.Blob).Value = message.Payload.ToArray();
                insert.Parameters.AddWithValue("$contentType", (object?)message.ContentType ?? DBNull.Value);
                insert.Parameters.AddWithValue("$retain", message.Retain ? 1 : 0);
                insert.Parameters.AddWithValue("$expiresAt",
                    (object?)expiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
                insert.Parameters.AddWithValue("$responseTopic", (object?)message.ResponseTopic ?? DBNull.Value);
                insert.Parameters.Add("$correlation", SqliteType.Blob).Value =
                    message.CorrelationData.IsEmpty ? DBNull.Value : message.CorrelationData.ToArray();
                insert.Parameters.AddWithValue("$messageId",
                    message.MessageId ?? throw new ArgumentException("Outbox messages need an id.", nameof(message)));
                insert.Parameters.AddWithValue("$headers",
                    message.Headers is { Count: > 0 } h ? JsonSerializer.Serialize(h) : DBNull.Value);
                insert.ExecuteNonQuery();
            }
            if (dropped > 0) AddUnreportedDrops(dropped);
            transaction.Commit();
            _count++;
            _bytes += size;
            return dropped;
        }
    }

    /// <summary>The oldest messages after <paramref name="afterSequence"/>, in order.</summary>
    public List<OutboxEntry> ReadAfter(long afterSequence, int limit)
    {
        lock (_gate)
        {
            using var select = _connection.CreateCommand();
            select.CommandText = """
                SELECT seq, topic, payload, content_type, retain, expires_at, response_topic, correlation, message_id,
                    headers
                FROM outbox WHERE seq > $after ORDER BY seq LIMIT $limit
                """;
            select.Parameters.AddWithValue("$after", afterSequence);
            select.Parameters.AddWithValue("$limit", limit);
            using var reader = select.ExecuteReader();
            var entries = new List<OutboxEntry>();
            while (reader.Read())
            {
                var message = new OutgoingMessage(reader.GetString(1), (byte[])reader[2])
                {
                    Delivery = Delivery.AtLeastOnce,
                    ContentType = reader.IsDBNull(3) ? null : reader.GetString(3),
                    Retain = reader.GetInt64(4) != 0,
                    ResponseTopic = reader.IsDBNull(6) ? null : reader.GetString(6),
                    CorrelationData = reader.IsDBNull(7) ? ReadOnlyMemory<byte>.Empty : (byte[])reader[7],
                    MessageId = reader.GetString(8),
                    Headers = reader.IsDBNull(9)
                        ? null
                        : JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(9)),
                };
                var expiresAt = reader.IsDBNull(5)
                    ? (DateTimeOffset?)null
                    : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5));
                entries.Add(new OutboxEntry(reader.GetInt64(0), message, expiresAt));
            }
            return entries;
        }
    }

    /// <summary>
    /// Removes every message up to and including <paramref name="sequence"/> (sent and acknowledged).
    /// </summary>
    public void RemoveThrough(long sequence)
    {
        lock (_gate)
        {
            using var delete = _connection.CreateCommand();
            delete.CommandText = "DELETE FROM outbox WHERE seq <= $seq RETURNING length(payload)";
            delete.Parameters.AddWithValue("$seq", sequence);
            using var reader = delete.ExecuteReader();
            while (reader.Read())
            {
                _count--;
                _bytes -= reader.GetInt64(0);
            }
        }
    }

    /// <summary>Messages dropped by overflow and not yet reported on the error topic (kept across restarts).</summary>
    public long UnreportedDrops
    {
        get
        {
            lock (_gate)
            {
                using var select = _connection.CreateCommand();
                select.CommandText = "SELECT value FROM outbox_state WHERE name = 'unreported_drops'";
                return select.ExecuteScalar() is long value ? value : 0;
            }
        }
    }

    public void MarkDropsReported(long reported)
    {
        lock (_gate) AddUnreportedDrops(-reported);
    }

    private void AddUnreportedDrops(long delta)
    {
        using var upsert = _connection.CreateCommand();
        upsert.CommandText = """
            INSERT INTO outbox_state (name, value) VALUES ('unreported_drops', $delta)
            ON CONFLICT (name) DO UPDATE SET value = value + $delta
            """;
        upsert.Parameters.AddWithValue("$delta", delta);
        upsert.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
