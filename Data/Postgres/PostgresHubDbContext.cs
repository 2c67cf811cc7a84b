using Microsoft.EntityFrameworkCore;

namespace MultimodalHub.Data.Postgres;

/// <summary>The hub's model on PostgreSQL. A type of its own only so that EF Core keeps its migrations
/// (Migrations/Postgres/, made for this type) apart from SQLite's (Migrations/, made for <see cref="HubDbContext"/>):
/// migrations are found by the context type they were made for.</summary>
public sealed class PostgresHubDbContext(DbContextOptions<PostgresHubDbContext> options) : HubDbContext(options);
