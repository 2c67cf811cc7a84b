namespace MultimodalHub.Data;

/// <summary>Configuration section "Data". Relative paths are resolved against the app's base directory.</summary>
public sealed class DataOptions
{
    public const string Section = "Data";

    /// <summary>The name under <c>ConnectionStrings</c> read when <see cref="Provider"/> is <see cref="DataProvider.Postgres"/>.</summary>
    public const string ConnectionStringName = "Hub";

    /// <summary>Where the hub keeps its rows: <see cref="DataProvider.Sqlite"/> (default: one file, one process) or
    /// <see cref="DataProvider.Postgres"/> (a PostgreSQL database that several web app instances may share).</summary>
    public DataProvider Provider { get; set; } = DataProvider.Sqlite;

    /// <summary>The Npgsql connection string for <see cref="DataProvider.Postgres"/>; when empty, <c>ConnectionStrings:Hub</c>
    /// is used. Ignored for SQLite (<see cref="DatabasePath"/>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite database file (provider Sqlite). Default <c>data/hub.db</c> beside the app.</summary>
    public string DatabasePath { get; set; } = Path.Combine("data", "hub.db");

    /// <summary>Folder holding content-addressed image bytes and cached thumbnails. Default <c>data/blobs</c>.</summary>
    public string BlobPath { get; set; } = Path.Combine("data", "blobs");

    /// <summary>How long a connection waits on a locked database before SQLITE_BUSY (PRAGMA busy_timeout + command timeout).</summary>
    public int BusyTimeoutSeconds { get; set; } = 30;

    /// <summary>Largest image accepted by the blob store, in bytes.</summary>
    public long MaxImageBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Largest image accepted by the blob store, in pixels (width × height), read from the header before decoding.</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Longest side of cached thumbnails when the caller does not ask for a size.</summary>
    public int DefaultThumbnailSize { get; set; } = 256;

    /// <summary>Mark runs left queued/running by a previous process as failed when the database is migrated at start.</summary>
    public bool RecoverStaleRunsAtStart { get; set; } = true;

    /// <summary>Images stored (uploaded) but referenced by no run, chat message or vote are deleted once they are this
    /// old; <c>00:00:00</c> keeps them forever. Default 24 hours.</summary>
    public TimeSpan UnattachedImageRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the sweep of unattached images runs (first run one interval after start). Default 1 hour.</summary>
    public TimeSpan UnattachedImageSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How the in-memory index of image embeddings keeps its vectors: <c>Float32</c> (exact scores),
    /// <c>Float16</c> (half the memory) or <c>Int8</c> (a quarter, fastest; ranks close to exact).</summary>
    public Search.VectorPrecision VectorIndexPrecision { get; set; } = Search.VectorPrecision.Float32;

    /// <summary>What the logs call the database: the SQLite file, or PostgreSQL's host and database name (no password).</summary>
    public string DatabaseName => Provider == DataProvider.Postgres
        ? new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString) is var b ? $"{b.Host}:{b.Port}/{b.Database}" : ""
        : ResolvedDatabasePath;

    /// <summary>The database file as an absolute path.</summary>
    public string ResolvedDatabasePath => Resolve(DatabasePath);
    internal string ResolvedBlobPath => Resolve(BlobPath);

    private static string Resolve(string path) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(AppContext.BaseDirectory, path));
}

/// <summary>The database behind the hub (<c>Data:Provider</c>).</summary>
public enum DataProvider
{
    /// <summary>An embedded SQLite file (<see cref="DataOptions.DatabasePath"/>); one web app process.</summary>
    Sqlite,

    /// <summary>PostgreSQL through Npgsql (<c>ConnectionStrings:Hub</c>); several web app instances may share it.</summary>
    Postgres,
}
