using Microsoft.Data.Sqlite;

namespace EdgeEvents.Pipeline.Reliability;

/// <summary>
/// Opens the SQLite files of the outbox and the embedded broker's store the same way: WAL journal, one connection
/// holding an exclusive lock (a second process opening the same file fails fast instead of sending or delivering the
/// same messages), <c>synchronous</c> FULL (survives a power cut) or NORMAL (survives a process kill).
/// </summary>
public static class SqliteFile
{
    /// <summary>
    /// Opens (or creates) <paramref name="path"/> and runs <paramref name="schema"/>; throws <see cref="IOException"/>
    /// when another process holds it.
    /// </summary>
    public static SqliteConnection Open(string path, bool flushToDisk, string schema, string usedBy)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);
        var connection = new SqliteConnection(
            new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, $"""
                PRAGMA locking_mode = EXCLUSIVE;
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = {(flushToDisk ? "FULL" : "NORMAL")};
                {schema}
                """, timeoutSeconds: 2);
            return connection;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6)
        {
            connection.Dispose();
            throw new IOException($"'{path}' is in use by another process ({usedBy}).", ex);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs every statement of <paramref name="sql"/>, failing on the first that fails (a file in use: at
    /// the journal mode).
    /// </summary>
    public static void Execute(SqliteConnection connection, string sql, int timeoutSeconds = 30)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = timeoutSeconds;
        // Not ExecuteNonQuery: after a statement that returns rows (the PRAGMAs) it let a later one's SQLITE_BUSY pass
        // unreported here.
        using var reader = command.ExecuteReader();
        while (reader.NextResult()) { }
    }
}
