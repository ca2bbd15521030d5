using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Data.Sqlite;

namespace EdgeEvents.Llm.Questions;

/// <summary>What the ledger knows of a question that arrives.</summary>
internal enum Admission { New, InFlight, Answered }

/// <summary>
/// The worker's memory of questions by asker and id (ids are scoped to their asker: two askers may use the same id):
/// those being answered, with the copies that arrived meanwhile, and those answered, with their answer. A question
/// seen again gets that same answer again (same answer id), never a second one and never silence: a redelivery after
/// a lost acknowledgement costs consumers one copy they remove by id, and an asker who lost its answer and asks again
/// with the same id gets it. Answers are written here before they are published, so a worker killed in between
/// publishes the remembered answer when the question comes back. With a file (beside the outbox) the answered part
/// survives a restart, as the outbox does; at most <c>capacity</c> answers are kept, the oldest forgotten first.
/// </summary>
internal sealed class QuestionLedger : IDisposable
{
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PendingQuestion> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _answered = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly SqliteConnection? _file;

    private QuestionLedger(int capacity, SqliteConnection? file)
    {
        _capacity = capacity;
        _file = file;
    }

    public static QuestionLedger InMemory(int capacity) => new(capacity, null);

    public static QuestionLedger Open(string path, int capacity)
    {
        var file = SqliteFile.Open(path, flushToDisk: false, """
            CREATE TABLE IF NOT EXISTS answered (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, answer BLOB NOT NULL);
            """, "each LLM worker needs its own ledger file");
        var ledger = new QuestionLedger(capacity, file);
        using var command = file.CreateCommand();
        command.CommandText = "SELECT key, answer FROM answered ORDER BY seq";
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) ledger.Remember(reader.GetString(0), (byte[])reader[1]);
        }
        return ledger;
    }

    /// <summary>The ledger file beside an outbox file: <c>llm.outbox.db</c> → <c>llm.outbox.answers.db</c>.</summary>
    public static string PathBeside(string outboxPath) => Path.ChangeExtension(outboxPath, null) + ".answers.db";

    public int Answered
    {
        get { lock (_gate) return _answered.Count; }
    }

    /// <summary>
    /// New: the question is now in flight. InFlight: the same question is being answered; this copy is acknowledged
    /// with it. Answered: <paramref name="answer"/> is the answer it got.
    /// </summary>
    public Admission Admit(PendingQuestion pending, out Answer? answer)
    {
        answer = null;
        var key = Key(pending);
        lock (_gate)
        {
            if (_answered.TryGetValue(key, out var stored))
            {
                answer = MessageCodec.Deserialize<Answer>(stored, ContentTypes.Json);
                return Admission.Answered;
            }
            if (_inFlight.TryGetValue(key, out var first))
            {
                first.Duplicates.Add(pending.Message);
                return Admission.InFlight;
            }
            _inFlight[key] = pending;
            return Admission.New;
        }
    }

    /// <summary>Drops a question that was not answered; unacknowledged, it comes back from the broker.</summary>
    public void Forget(PendingQuestion pending)
    {
        lock (_gate) _inFlight.Remove(Key(pending));
    }

    /// <summary>
    /// Records the answer (on disk first when there is a file) and returns every copy of the question to acknowledge
    /// once it is published.
    /// </summary>
    public List<ReceivedMessage> Answer(PendingQuestion pending, Answer answer)
    {
        var key = Key(pending);
        var payload = MessageCodec.Serialize(answer, PayloadFormat.Json);
        lock (_gate)
        {
            if (_file is not null) Save(key, payload);
            Remember(key, payload);
            _inFlight.Remove(key);
            return [pending.Message, .. pending.Duplicates];
        }
    }

    private void Remember(string key, byte[] answer)
    {
        if (_answered.TryAdd(key, answer)) _order.Enqueue(key);
        while (_order.Count > _capacity)
        {
            var old = _order.Dequeue();
            _answered.Remove(old);
            if (_file is not null) Delete(old);
        }
    }

    private void Save(string key, byte[] answer)
    {
        using var command = _file!.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO answered (key, answer) VALUES ($key, $answer)";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$answer", answer);
        command.ExecuteNonQuery();
    }

    private void Delete(string key)
    {
        using var command = _file!.CreateCommand();
        command.CommandText = "DELETE FROM answered WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        command.ExecuteNonQuery();
    }

    // Asker names never contain '\n' (topic-level names), so the key is unambiguous.
    private static string Key(PendingQuestion pending) => $"{pending.Question.Asker}\n{pending.Question.Id}";

    public void Dispose() => _file?.Dispose();
}
