using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Storage;

namespace MultimodalHub.Data.Services;

internal sealed class ChatStore(IDbContextFactory<HubDbContext> dbs, IBlobStore blobs, TimeProvider time) : IChatStore
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    public async Task<ChatSession> CreateSessionAsync(OwnerScope owner, string model, string? title = null, string? systemPrompt = null, string? parametersJson = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (parametersJson is not null)
        {
            try { using var _ = JsonDocument.Parse(parametersJson); }
            catch (JsonException e) { throw new ArgumentException($"parametersJson is not valid JSON: {e.Message}", nameof(parametersJson)); }
        }
        var now = time.GetUtcNow();
        var session = new ChatSession
        {
            OwnerId = owner.OwnerId,
            Model = model,
            Title = string.IsNullOrWhiteSpace(title) ? "New chat" : title.Trim(),
            SystemPrompt = systemPrompt,
            ParametersJson = parametersJson ?? "{}",
            Created = now,
            Updated = now,
        };
        await using var db = await dbs.CreateDbContextAsync(ct);
        db.ChatSessions.Add(session);
        await db.SaveChangesAsync(ct);
        return session;
    }

    public async Task<ChatMessageEntity> AppendAsync(long sessionId, NewChatMessage message, OwnerScope owner, CancellationToken ct = default)
    {
        if (!Roles.Contains(message.Role))
            throw new ArgumentException("Role must be system, user or assistant.", nameof(message));
        await using (var check = await dbs.CreateDbContextAsync(ct))
        {
            if (!await check.ChatSessions.Visible(owner).AnyAsync(s => s.Id == sessionId, ct))
                throw new ArgumentException("Unknown chat session.", nameof(sessionId));
            if (message.ImageSha256 is { } sha && !await OwnerScopeQueries.Readable(check, sha, owner).AnyAsync(ct))
                throw new ImageNotStoredException(sha);
        }
        // Positions are unique per session; a concurrent append to the same session retries with the next position.
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            // SQLite: BEGIN IMMEDIATE, read max + insert under the write lock. PostgreSQL: the session's row is locked
            // first, so appenders to one session (from any instance) queue instead of colliding on the position.
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            if (db.Database.IsNpgsql())
                await db.Database.ExecuteSqlInterpolatedAsync($"""SELECT 1 FROM "ChatSessions" WHERE "Id" = {sessionId} FOR UPDATE""", ct);
            var next = await db.ChatMessages.Where(m => m.SessionId == sessionId).MaxAsync(m => (int?)m.Position, ct) ?? -1;
            var now = time.GetUtcNow();
            var entity = new ChatMessageEntity
            {
                SessionId = sessionId,
                Position = next + 1,
                Role = message.Role,
                Content = message.Content ?? "",
                ImageSha256 = message.ImageSha256,
                RunId = message.RunId,
                Created = now,
            };
            db.ChatMessages.Add(entity);
            try
            {
                await db.SaveChangesAsync(ct);
                await db.ChatSessions.Where(s => s.Id == sessionId)
                    .ExecuteUpdateAsync(s => s.SetProperty(x => x.Updated, now), ct);
                await tx.CommitAsync(ct);
                return entity;
            }
            catch (DbUpdateException e) when (attempt < 10 && DbErrors.IsUniqueViolation(e))
            {
                // Unique (SessionId, Position): someone appended first.
            }
            catch (DbUpdateException e) when (DbErrors.IsConstraintViolation(e))
            {
                throw new ArgumentException("Unknown chat session, image or run.", nameof(sessionId), e);
            }
        }
    }

    public async Task<ChatSession?> GetAsync(long sessionId, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var session = await db.ChatSessions.Visible(owner).AsNoTracking().Include(s => s.Messages).SingleOrDefaultAsync(s => s.Id == sessionId, ct);
        if (session is not null)
            session.Messages = session.Messages.OrderBy(m => m.Position).ToList();
        return session;
    }

    public async Task<IReadOnlyList<ChatSessionSummary>> ListAsync(OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.ChatSessions.Visible(owner)
            .OrderByDescending(s => s.Updated).ThenByDescending(s => s.Id)
            .Select(s => new ChatSessionSummary(s.Id, s.Title, s.Model, s.Created, s.Updated, s.Messages.Count))
            .ToListAsync(ct);
    }

    public async Task<bool> RenameAsync(long sessionId, string title, OwnerScope owner, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.ChatSessions.Visible(owner).Where(s => s.Id == sessionId)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.Title, title.Trim()), ct) == 1;
    }

    public async Task<bool> DeleteAsync(long sessionId, OwnerScope owner, CancellationToken ct = default)
    {
        List<string> images;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            if (!await db.ChatSessions.Visible(owner).AnyAsync(s => s.Id == sessionId, ct))
                return false;
            images = await db.ChatMessages.Where(m => m.SessionId == sessionId && m.ImageSha256 != null)
                .Select(m => m.ImageSha256!).Distinct().ToListAsync(ct);
            // Messages cascade; runs of the conversation stay in history (their ChatSessionId is cleared).
            if (await db.ChatSessions.Where(s => s.Id == sessionId).ExecuteDeleteAsync(ct) == 0)
                return false;
        }
        foreach (var sha in images)
            await blobs.DeleteIfUnreferencedAsync(sha, ct);
        return true;
    }
}
