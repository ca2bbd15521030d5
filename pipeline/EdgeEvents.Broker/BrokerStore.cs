using System.Buffers;
using EdgeEvents.Pipeline.Reliability;
using Microsoft.Data.Sqlite;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace EdgeEvents.Broker;

/// <summary>
/// A persistent session as stored, with the user who opened it (null: none, or stored before owners were) and its
/// subscriptions.
/// </summary>
internal sealed record StoredSession(string ClientId, string? Owner, List<MqttTopicFilter> Subscriptions);

/// <summary>A message queued for a client, in order.</summary>
internal sealed record QueuedMessage(long Sequence, MqttApplicationMessage Message, DateTimeOffset? ExpiresAt);

/// <summary>
/// The embedded broker's SQLite file (<see cref="SqliteFile"/>: WAL, exclusive, <c>synchronous=NORMAL</c> — it
/// survives a kill of the broker process; the last moments may be lost on power loss): retained messages, persistent
/// sessions with their subscriptions, and the QoS 1/2 messages queued for those sessions until acknowledged.
/// SQLite connections are not thread-safe, so every call takes <see cref="_gate"/>.
/// </summary>
internal sealed class BrokerStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    private BrokerStore(SqliteConnection connection) => _connection = connection;

    public static BrokerStore Open(string path)
    {
        var store = new BrokerStore(SqliteFile.Open(path, flushToDisk: false, Schema, "one broker per data folder"));
        // Stores written before sessions had owners get the column; their sessions stay ownerless until reconnected.
        using var owner = store.Command("SELECT COUNT(*) FROM pragma_table_info('sessions') WHERE name = 'owner'");
        if ((long)owner.ExecuteScalar()! == 0)
        {
            using var add = store.Command("ALTER TABLE sessions ADD COLUMN owner TEXT");
            add.ExecuteNonQuery();
        }
        return store;
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, message BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS sessions (
            client_id TEXT PRIMARY KEY, expiry_seconds INTEGER NOT NULL, disconnected_at INTEGER, owner TEXT);
        CREATE TABLE IF NOT EXISTS subscriptions (
            client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, no_local INTEGER NOT NULL,
            PRIMARY KEY (client_id, filter));
        CREATE TABLE IF NOT EXISTS queue (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, message BLOB NOT NULL, expires_at INTEGER);
        CREATE INDEX IF NOT EXISTS queue_by_client ON queue (client_id, seq);
        """;

    public List<MqttApplicationMessage> Retained()
    {
        lock (_gate)
        {
            using var select = Command("SELECT message FROM retained");
            using var reader = select.ExecuteReader();
            var messages = new List<MqttApplicationMessage>();
            while (reader.Read()) messages.Add(StoredMessage.Decode((byte[])reader[0]));
            return messages;
        }
    }

    /// <summary>Stores a retained message; an empty payload clears the topic, as in MQTT.</summary>
    public void SetRetained(MqttApplicationMessage message)
    {
        lock (_gate)
        {
            using var command = message.Payload.IsEmpty
                ? Command("DELETE FROM retained WHERE topic = $topic")
                : Command("INSERT INTO retained (topic, message) VALUES ($topic, $message) " +
                    "ON CONFLICT (topic) DO UPDATE SET message = $message");
            command.Parameters.AddWithValue("$topic", message.Topic);
            if (!message.Payload.IsEmpty)
                command.Parameters.Add("$message", SqliteType.Blob).Value = StoredMessage.Encode(message);
            command.ExecuteNonQuery();
        }
    }

    public void ClearRetained()
    {
        lock (_gate) SqliteFile.Execute(_connection, "DELETE FROM retained");
    }

    /// <summary>
    /// Deletes the sessions whose expiry passed while their client was away (a missing leave time counts as now: the
    /// broker was killed).
    /// </summary>
    public int DeleteExpiredSessions(DateTimeOffset now)
    {
        lock (_gate)
        {
            using var select = Command(
                "SELECT client_id FROM sessions WHERE COALESCE(disconnected_at, $now) + expiry_seconds * 1000 < $now");
            select.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            var expired = new List<string>();
            using (var reader = select.ExecuteReader()) while (reader.Read()) expired.Add(reader.GetString(0));
            foreach (var clientId in expired) DeleteSessionLocked(clientId);
            return expired.Count;
        }
    }

    public List<StoredSession> Sessions()
    {
        lock (_gate)
        {
            var sessions = new Dictionary<string, StoredSession>(StringComparer.Ordinal);
            using (var select = Command("SELECT client_id, owner FROM sessions"))
            using (var reader = select.ExecuteReader())
            {
                while (reader.Read())
                {
                    var owner = reader.IsDBNull(1) ? null : reader.GetString(1);
                    sessions[reader.GetString(0)] = new StoredSession(reader.GetString(0), owner, []);
                }
            }
            using (var select = Command("SELECT client_id, filter, qos, no_local FROM subscriptions"))
            using (var reader = select.ExecuteReader())
            {
                while (reader.Read())
                {
                    if (!sessions.TryGetValue(reader.GetString(0), out var session)) continue;
                    session.Subscriptions.Add(new MqttTopicFilter
                    {
                        Topic = reader.GetString(1),
                        QualityOfServiceLevel = (MqttQualityOfServiceLevel)reader.GetInt64(2),
                        NoLocal = reader.GetInt64(3) != 0,
                    });
                }
            }
            return [.. sessions.Values];
        }
    }

    /// <summary>Records a persistent session whose client is connected now, as <paramref name="owner"/>'s.</summary>
    public void SessionConnected(string clientId, uint expirySeconds, string? owner)
    {
        lock (_gate)
        {
            using var upsert = Command("""
                INSERT INTO sessions (client_id, expiry_seconds, disconnected_at, owner)
                VALUES ($id, $expiry, NULL, $owner)
                ON CONFLICT (client_id) DO UPDATE SET expiry_seconds = $expiry, disconnected_at = NULL, owner = $owner
                """);
            upsert.Parameters.AddWithValue("$id", clientId);
            upsert.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$expiry", (long)expirySeconds);
            upsert.ExecuteNonQuery();
        }
    }

    public void SessionDisconnected(string clientId, DateTimeOffset at)
    {
        lock (_gate)
        {
            using var update = Command("UPDATE sessions SET disconnected_at = $at WHERE client_id = $id");
            update.Parameters.AddWithValue("$id", clientId);
            update.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            update.ExecuteNonQuery();
        }
    }

    /// <summary>Forgets a session with its subscriptions and queue.</summary>
    public void DeleteSession(string clientId)
    {
        lock (_gate) DeleteSessionLocked(clientId);
    }

    private void DeleteSessionLocked(string clientId)
    {
        foreach (var table in (string[])["sessions", "subscriptions", "queue"])
        {
            using var delete = Command($"DELETE FROM {table} WHERE client_id = $id");
            delete.Parameters.AddWithValue("$id", clientId);
            delete.ExecuteNonQuery();
        }
    }

    public void Subscribe(string clientId, MqttTopicFilter filter)
    {
        lock (_gate)
        {
            using var upsert = Command("""
                INSERT INTO subscriptions (client_id, filter, qos, no_local) VALUES ($id, $filter, $qos, $noLocal)
                ON CONFLICT (client_id, filter) DO UPDATE SET qos = $qos, no_local = $noLocal
                """);
            upsert.Parameters.AddWithValue("$id", clientId);
            upsert.Parameters.AddWithValue("$filter", filter.Topic);
            upsert.Parameters.AddWithValue("$qos", (int)filter.QualityOfServiceLevel);
            upsert.Parameters.AddWithValue("$noLocal", filter.NoLocal ? 1 : 0);
            upsert.ExecuteNonQuery();
        }
    }

    public void Unsubscribe(string clientId, string filter)
    {
        lock (_gate)
        {
            using var delete = Command("DELETE FROM subscriptions WHERE client_id = $id AND filter = $filter");
            delete.Parameters.AddWithValue("$id", clientId);
            delete.Parameters.AddWithValue("$filter", filter);
            delete.ExecuteNonQuery();
        }
    }

    /// <summary>Messages queued per client, for the per-client limit.</summary>
    public Dictionary<string, int> QueueCounts()
    {
        lock (_gate)
        {
            using var select = Command("SELECT client_id, COUNT(*) FROM queue GROUP BY client_id");
            using var reader = select.ExecuteReader();
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            while (reader.Read()) counts[reader.GetString(0)] = reader.GetInt32(1);
            return counts;
        }
    }

    /// <summary>Queues a message for a client; returns its sequence.</summary>
    public long Enqueue(string clientId, MqttApplicationMessage message, DateTimeOffset? expiresAt)
    {
        lock (_gate)
        {
            using var insert = Command(
                "INSERT INTO queue (client_id, message, expires_at) VALUES ($id, $message, $expiresAt) RETURNING seq");
            insert.Parameters.AddWithValue("$id", clientId);
            insert.Parameters.Add("$message", SqliteType.Blob).Value = StoredMessage.Encode(message);
            insert.Parameters.AddWithValue("$expiresAt", (object?)expiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            return (long)insert.ExecuteScalar()!;
        }
    }

    /// <summary>A client's queued messages in order, skipping <paramref name="except"/>.</summary>
    public List<QueuedMessage> Queue(string clientId, IReadOnlySet<long> except)
    {
        lock (_gate)
        {
            using var select = Command("SELECT seq, message, expires_at FROM queue WHERE client_id = $id ORDER BY seq");
            select.Parameters.AddWithValue("$id", clientId);
            using var reader = select.ExecuteReader();
            var messages = new List<QueuedMessage>();
            while (reader.Read())
            {
                if (except.Contains(reader.GetInt64(0))) continue;
                var expiresAt = reader.IsDBNull(2)
                    ? (DateTimeOffset?)null
                    : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2));
                messages.Add(new QueuedMessage(reader.GetInt64(0), StoredMessage.Decode((byte[])reader[1]), expiresAt));
            }
            return messages;
        }
    }

    /// <summary>Removes one queued message (acknowledged, expired or dropped).</summary>
    public void Dequeue(long sequence)
    {
        lock (_gate)
        {
            using var delete = Command("DELETE FROM queue WHERE seq = $seq");
            delete.Parameters.AddWithValue("$seq", sequence);
            delete.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Removes a client's oldest queued message; returns its sequence, or null when the queue is empty.
    /// </summary>
    public long? DequeueOldest(string clientId)
    {
        lock (_gate)
        {
            using var delete = Command(
                "DELETE FROM queue WHERE seq = (SELECT MIN(seq) FROM queue WHERE client_id = $id) RETURNING seq");
            delete.Parameters.AddWithValue("$id", clientId);
            return delete.ExecuteScalar() as long?;
        }
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}

/// <summary>An MQTT application message as a byte string, for the broker's store.</summary>
internal static class StoredMessage
{
    private const byte Version = 1;

    public static byte[] Encode(MqttApplicationMessage message)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(Version);
            writer.Write(message.Topic);
            writer.Write((byte)message.QualityOfServiceLevel);
            writer.Write(message.Retain);
            writer.Write((byte)message.PayloadFormatIndicator);
            writer.Write(message.MessageExpiryInterval);
            WriteOptional(writer, message.ContentType);
            WriteOptional(writer, message.ResponseTopic);
            WriteBytes(writer, message.CorrelationData);
            var properties = message.UserProperties ?? [];
            writer.Write(properties.Count);
            foreach (var property in properties)
            {
                writer.Write(property.Name);
                WriteBytes(writer, property.ValueBuffer.Span);
            }
            writer.Write((int)message.Payload.Length);
            foreach (var segment in message.Payload) writer.Write(segment.Span);
        }
        return buffer.ToArray();
    }

    public static MqttApplicationMessage Decode(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        if (reader.ReadByte() != Version) throw new InvalidDataException("Unknown stored message version.");
        var message = new MqttApplicationMessage
        {
            Topic = reader.ReadString(),
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)reader.ReadByte(),
            Retain = reader.ReadBoolean(),
            PayloadFormatIndicator = (MqttPayloadFormatIndicator)reader.ReadByte(),
            MessageExpiryInterval = reader.ReadUInt32(),
            ContentType = ReadOptional(reader),
            ResponseTopic = ReadOptional(reader),
        };
        var correlation = ReadBytes(reader);
        message.CorrelationData = correlation.Length == 0 ? null : correlation;
        var count = reader.ReadInt32();
        if (count > 0)
        {
            message.UserProperties = new List<MqttUserProperty>(count);
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                message.UserProperties.Add(new MqttUserProperty(name, new ReadOnlyMemory<byte>(ReadBytes(reader))));
            }
        }
        message.Payload = new ReadOnlySequence<byte>(reader.ReadBytes(reader.ReadInt32()));
        return message;
    }

    private static void WriteOptional(BinaryWriter writer, string? text)
    {
        writer.Write(text is not null);
        if (text is not null) writer.Write(text);
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    private static void WriteBytes(BinaryWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader reader) => reader.ReadBytes(reader.ReadInt32());
}
