using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MultimodalHub.Data.Storage;

/// <summary>
/// This process as one of possibly several web app instances on one database. Its id (a random positive int) is
/// written on the runs it starts and on its service API key. On PostgreSQL the instance holds a session-level advisory
/// lock (class <see cref="LockClass"/>, key = id) on a connection of its own for as long as it lives: the server
/// drops the lock the moment the process dies or its connection is cut, so "which instances are alive" is exactly
/// the set of granted locks (<see cref="LiveInstances"/>), with no heartbeat to time out. On SQLite (one process per
/// file) the id is only recorded.
/// </summary>
public sealed partial class HubInstance(IOptions<DataOptions> options, ILogger<HubInstance> logger) : IAsyncDisposable
{
    /// <summary>Advisory-lock class of instance leases ("HUB1").</summary>
    internal const int LockClass = 0x48554231;

    /// <summary>Advisory-lock class of per-image locks of the blob store ("HUB2").</summary>
    internal const int ImageLockClass = 0x48554232;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _lease;
    private int _id;

    /// <summary>This instance's id; on PostgreSQL the first call takes the lease (a lock nobody else holds).</summary>
    public async Task<int> IdAsync(CancellationToken ct = default)
    {
        if (Volatile.Read(ref _id) is var known and not 0)
            return known;
        await _gate.WaitAsync(ct);
        try
        {
            if (_id != 0)
                return _id;
            if (options.Value.Provider != DataProvider.Postgres)
                return _id = RandomNumberGenerator.GetInt32(1, int.MaxValue);
            var connection = await OpenLeaseConnectionAsync(ct);
            try
            {
                while (true)
                {
                    var id = RandomNumberGenerator.GetInt32(1, int.MaxValue);
                    if (await TryLockAsync(connection, id, ct))
                    {
                        _lease = connection;
                        LogLease(id);
                        return _id = id;
                    }
                }
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// PostgreSQL: makes sure this instance still holds its lease. A server restart, a failover or a cut connection
    /// drops the lock with its connection, after which other instances take this one for gone (and fail its runs,
    /// revoke its service key); so the lease connection is checked, and when the lock is gone the same id's lock is
    /// taken again on a new connection. False when it could not be (the database is unreachable); true on SQLite.
    /// </summary>
    public async Task<bool> RenewLeaseAsync(CancellationToken ct = default)
    {
        var id = await IdAsync(ct);
        if (options.Value.Provider != DataProvider.Postgres)
            return true;
        await _gate.WaitAsync(ct);
        try
        {
            if (_lease is not null && await HoldsLockAsync(_lease, id, ct))
                return true;
            if (_lease is not null)
                await _lease.DisposeAsync();
            _lease = null;
            LogLeaseLost(id);
            var connection = await OpenLeaseConnectionAsync(ct);
            if (!await TryLockAsync(connection, id, ct))
            {
                await connection.DisposeAsync();
                return false;
            }
            _lease = connection;
            LogLease(id);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            LogLeaseRenewFailed(e, id);
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<NpgsqlConnection> OpenLeaseConnectionAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(options.Value.ConnectionString)
        {
            Pooling = false,
            KeepAlive = 30,
            ApplicationName = "MultimodalHub instance lease",
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, int id, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", connection);
        cmd.Parameters.Add(new NpgsqlParameter { Value = LockClass });
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    /// <summary>Whether the lease connection is alive and its session still holds the lock (false when the connection is broken).</summary>
    private static async Task<bool> HoldsLockAsync(NpgsqlConnection connection, int id, CancellationToken ct)
    {
        try
        {
            await using var cmd = new NpgsqlCommand("""
                SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                  AND objsubid = 2 AND CAST(classid AS bigint) = $1 AND CAST(objid AS bigint) = $2)
                """, connection);
            cmd.Parameters.Add(new NpgsqlParameter { Value = (long)LockClass });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (long)id });
            return await cmd.ExecuteScalarAsync(ct) is true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>PostgreSQL: the ids of the instances alive now (their leases are granted locks in this database).</summary>
    internal static IQueryable<int> LiveInstances(HubDbContext db) => db.Database.SqlQuery<int>($"""
        SELECT CAST(CAST(l.objid AS bigint) AS integer) AS "Value" FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND CAST(l.classid AS bigint) = {(long)LockClass}
          AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
        """);

    /// <summary>Ends the lease (as a dying process would): other instances may now recover this one's runs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_lease is not null)
        {
            // Released now rather than when the server notices the closed connection (its backend exits a moment
            // later): an instance stopping gracefully is "gone" at once.
            try
            {
                await using var cmd = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", _lease);
                await cmd.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException)
            {
                // The connection is already gone, and the lock with it.
            }
            await _lease.DisposeAsync();
        }
        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "This web app is instance {Instance} (PostgreSQL advisory lease held)")]
    private partial void LogLease(int instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance} lost its PostgreSQL advisory lease (connection cut or server restarted); taking it again")]
    private partial void LogLeaseLost(int instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance} could not take its PostgreSQL advisory lease again; retrying at the next recovery interval")]
    private partial void LogLeaseRenewFailed(Exception e, int instance);
}
