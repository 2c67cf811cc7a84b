using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data;

/// <summary>The one database: the hub's tables and ASP.NET Core Identity's (AspNetUsers, AspNetRoles, ...). This type
/// is the SQLite context (its migrations are in Migrations/); <see cref="Postgres.PostgresHubDbContext"/> is the same model
/// on PostgreSQL with its own migrations (Migrations/Postgres/).</summary>
public class HubDbContext : IdentityDbContext<HubUser>
{
    public HubDbContext(DbContextOptions<HubDbContext> options) : base(options) { }

    /// <summary>For a provider's own context type (each has its own migrations).</summary>
    protected HubDbContext(DbContextOptions options) : base(options) { }

    public DbSet<Owner> Owners => Set<Owner>();
    public DbSet<StoredImage> Images => Set<StoredImage>();
    public DbSet<Run> Runs => Set<Run>();
    public DbSet<RunImage> RunImages => Set<RunImage>();
    public DbSet<ChatSession> ChatSessions => Set<ChatSession>();
    public DbSet<ChatMessageEntity> ChatMessages => Set<ChatMessageEntity>();
    public DbSet<ShareLink> ShareLinks => Set<ShareLink>();
    public DbSet<ShareLinkItem> ShareLinkItems => Set<ShareLinkItem>();
    public DbSet<AbVote> AbVotes => Set<AbVote>();
    public DbSet<EvalRun> EvalRuns => Set<EvalRun>();
    public DbSet<Embedding> Embeddings => Set<Embedding>();
    public DbSet<TextEmbedding> TextEmbeddings => Set<TextEmbedding>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<ImageUpload> ImageUploads => Set<ImageUpload>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite cannot order or compare DateTimeOffset stored as text; store UTC unix milliseconds instead.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UnixMillisecondsConverter>();
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder); // Identity's tables
        builder.Entity<IdentityRole>().HasData(HubRoles.All.Select(r => new IdentityRole(r)
        {
            Id = "role-" + r,
            NormalizedName = r.ToUpperInvariant(),
            ConcurrencyStamp = "role-" + r,
        }));

        builder.Entity<ApiKey>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Name).HasMaxLength(100);
            e.Property(x => x.Prefix).HasMaxLength(16);
            e.Property(x => x.Hash).HasMaxLength(64);
            e.HasIndex(x => x.Hash).IsUnique();
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.OwnerId, x.Created });
        });

        builder.Entity<ImageUpload>(e =>
        {
            e.HasKey(x => new { x.ImageSha256, x.OwnerId });
            e.HasOne<StoredImage>().WithMany().HasForeignKey(x => x.ImageSha256).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.OwnerId);
        });

        builder.Entity<Owner>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.DisplayName).HasMaxLength(200);
            e.HasData(new Owner { Id = Owner.LocalId, DisplayName = "Local user", Created = DateTimeOffset.UnixEpoch });
        });

        builder.Entity<StoredImage>(e =>
        {
            e.HasKey(x => x.Sha256);
            e.Property(x => x.Sha256).HasMaxLength(64);
            e.Property(x => x.MimeType).HasMaxLength(32);
            e.Ignore(x => x.Extension);
            e.HasIndex(x => x.Created);
        });

        builder.Entity<Run>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(x => x.Rating).HasConversion<int>();
            e.Property(x => x.Model).HasMaxLength(200);
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<ChatSession>().WithMany().HasForeignKey(x => x.ChatSessionId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.ParentRunId).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(x => new { x.OwnerId, x.Created });
            e.HasIndex(x => x.Status);
            e.HasIndex(x => new { x.Kind, x.Created });
            e.HasIndex(x => x.Model);
        });

        builder.Entity<RunImage>(e =>
        {
            e.HasKey(x => new { x.RunId, x.Role, x.Position });
            e.Property(x => x.Role).HasConversion<string>().HasMaxLength(8);
            e.HasOne(x => x.Run).WithMany(x => x.Images).HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(x => x.Image).WithMany().HasForeignKey(x => x.ImageSha256).OnDelete(DeleteBehavior.Restrict);
            e.HasIndex(x => x.ImageSha256);
        });

        builder.Entity<ChatSession>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Restrict);
            e.HasIndex(x => new { x.OwnerId, x.Updated });
        });

        builder.Entity<ChatMessageEntity>(e =>
        {
            e.ToTable("ChatMessages");
            e.HasKey(x => x.Id);
            e.Property(x => x.Role).HasMaxLength(16);
            e.HasOne(x => x.Session).WithMany(x => x.Messages).HasForeignKey(x => x.SessionId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<StoredImage>().WithMany().HasForeignKey(x => x.ImageSha256).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(x => new { x.SessionId, x.Position }).IsUnique();
            e.HasIndex(x => x.ImageSha256);
        });

        builder.Entity<ShareLink>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Token).HasMaxLength(64);
            e.Property(x => x.Kind).HasConversion<string>().HasMaxLength(16);
            e.HasIndex(x => x.Token).IsUnique();
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Restrict);
            e.HasIndex(x => new { x.OwnerId, x.Created });
        });

        builder.Entity<ShareLinkItem>(e =>
        {
            e.HasKey(x => new { x.ShareLinkId, x.Position });
            e.HasOne(x => x.ShareLink).WithMany(x => x.Items).HasForeignKey(x => x.ShareLinkId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(x => x.Run).WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.RunId);
        });

        builder.Entity<AbVote>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Winner).HasConversion<string>().HasMaxLength(8);
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<StoredImage>().WithMany().HasForeignKey(x => x.ImageA).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<StoredImage>().WithMany().HasForeignKey(x => x.ImageB).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunA).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunB).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(x => x.ImageA);
            e.HasIndex(x => x.ImageB);
            e.HasIndex(x => x.Created);
        });

        builder.Entity<EvalRun>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Benchmark).HasMaxLength(32);
            e.Property(x => x.Model).HasMaxLength(200);
            e.Property(x => x.Dataset).HasMaxLength(200);
            e.HasOne<Owner>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Restrict);
            e.HasIndex(x => new { x.OwnerId, x.Benchmark, x.Created });
        });

        builder.Entity<Embedding>(e =>
        {
            e.HasKey(x => new { x.ImageSha256, x.ModelId });
            e.Property(x => x.ModelId).HasMaxLength(200);
            e.HasOne<StoredImage>().WithMany().HasForeignKey(x => x.ImageSha256).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.ModelId);
        });

        builder.Entity<TextEmbedding>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Source).HasConversion<string>().HasMaxLength(16);
            e.Property(x => x.ModelId).HasMaxLength(200);
            e.HasIndex(x => new { x.ModelId, x.Source, x.ItemId }).IsUnique();
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<ChatMessageEntity>().WithMany().HasForeignKey(x => x.ChatMessageId).OnDelete(DeleteBehavior.Cascade);
        });
    }

    private sealed class UnixMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.ToUnixTimeMilliseconds(),
        v => DateTimeOffset.FromUnixTimeMilliseconds(v));
}
