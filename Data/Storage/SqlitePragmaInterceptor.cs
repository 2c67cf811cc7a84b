using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace MultimodalHub.Data.Storage;

/// <summary>Per-connection PRAGMAs: foreign keys on, busy timeout, synchronous=NORMAL (safe with WAL).
/// journal_mode=WAL is persistent in the file and is set once when the database is migrated.</summary>
internal sealed class SqlitePragmaInterceptor(int busyTimeoutMs) : DbConnectionInterceptor
{
    private readonly string _sql =
        $"PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busyTimeoutMs}; PRAGMA synchronous = NORMAL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = _sql;
        cmd.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = _sql;
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
