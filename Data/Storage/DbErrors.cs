using Microsoft.Data.Sqlite;
using Npgsql;

namespace MultimodalHub.Data.Storage;

/// <summary>Constraint errors of either provider (SQLite's extended result codes, PostgreSQL's SQLSTATE).</summary>
internal static class DbErrors
{
    /// <summary>A unique index or primary key refused the row (SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY, 23505).</summary>
    public static bool IsUniqueViolation(Exception e) => Inner(e) switch
    {
        SqliteException s => s.SqliteErrorCode == 19 && s.SqliteExtendedErrorCode is 2067 or 1555,
        PostgresException p => p.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>A foreign key refused the change (SQLITE_CONSTRAINT_FOREIGNKEY, 23503).</summary>
    public static bool IsForeignKeyViolation(Exception e) => Inner(e) switch
    {
        SqliteException s => s.SqliteErrorCode == 19 && s.SqliteExtendedErrorCode == 787,
        PostgresException p => p.SqlState == PostgresErrorCodes.ForeignKeyViolation,
        _ => false,
    };

    /// <summary>Any integrity constraint (SQLITE_CONSTRAINT, SQLSTATE class 23).</summary>
    public static bool IsConstraintViolation(Exception e) => Inner(e) switch
    {
        SqliteException s => s.SqliteErrorCode == 19,
        PostgresException p => p.SqlState.StartsWith("23", StringComparison.Ordinal),
        _ => false,
    };

    private static Exception? Inner(Exception e) => e is SqliteException or PostgresException ? e : e.InnerException;
}
