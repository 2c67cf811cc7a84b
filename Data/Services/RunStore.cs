using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Storage;

namespace MultimodalHub.Data.Services;

internal sealed class RunStore(
    IDbContextFactory<HubDbContext> dbs,
    IBlobStore blobs,
    TimeProvider time,
    HubInstance instance,
    ILogger<RunStore> logger) : IRunStore
{
    private const int MaxTake = 500;
    /// <summary>The statuses a run can still leave (to succeeded, failed or cancelled).</summary>
    internal static readonly RunStatus[] Unfinished = [RunStatus.Queued, RunStatus.Running];

    public async Task<Run> CreateAsync(NewRun request, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Model);
        var parameters = NormaliseJson(request.ParametersJson, nameof(request.ParametersJson)) ?? "{}";
        var run = new Run
        {
            OwnerId = request.OwnerId,
            Kind = request.Kind,
            Model = request.Model,
            Prompt = request.Prompt,
            NegativePrompt = request.NegativePrompt,
            ParametersJson = parameters,
            Status = RunStatus.Queued,
            Instance = await instance.IdAsync(ct),
            Created = time.GetUtcNow(),
            ChatSessionId = request.ChatSessionId,
            ParentRunId = request.ParentRunId,
        };
        var inputs = request.InputImages ?? [];
        for (var i = 0; i < inputs.Count; i++)
            run.Images.Add(new RunImage { Role = RunImageRole.Input, Position = i, ImageSha256 = inputs[i] });

        await using var db = await dbs.CreateDbContextAsync(ct);
        var owner = new OwnerScope(request.OwnerId);
        await EnsureImagesExistAsync(db, inputs, owner, ct);
        if (request.ChatSessionId is { } session && !await db.ChatSessions.Visible(owner).AnyAsync(c => c.Id == session, ct))
            throw new ArgumentException("Unknown chat session.", nameof(request));
        if (request.ParentRunId is { } parent && !await db.Runs.Visible(owner).AnyAsync(r => r.Id == parent, ct))
            throw new ArgumentException("Unknown parent run.", nameof(request));
        db.Runs.Add(run);
        await db.SaveChangesAsync(ct);
        logger.LogDebug("Run {RunId} queued ({Kind}, {Model})", run.Id, run.Kind, run.Model);
        return run;
    }

    public async Task<bool> MarkRunningAsync(long runId, CancellationToken ct = default)
    {
        var id = await instance.IdAsync(ct);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        return await db.Runs
            .Where(r => r.Id == runId && r.Status == RunStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Running).SetProperty(r => r.Started, now).SetProperty(r => r.Instance, id), ct) == 1;
    }

    public async Task<bool> MarkSucceededAsync(long runId, RunOutputs outputs, CancellationToken ct = default)
    {
        var text = outputs.Text;
        var labels = NormaliseJson(outputs.LabelScoresJson, nameof(outputs.LabelScoresJson));
        var timings = NormaliseJson(outputs.TimingsJson, nameof(outputs.TimingsJson));
        var images = outputs.OutputImages ?? [];
        if (outputs.OutputSafety is { } safety && safety.Count != images.Count)
            throw new ArgumentException("OutputSafety must have one entry per output image.", nameof(outputs));

        await using var db = await dbs.CreateDbContextAsync(ct);
        await EnsureImagesExistAsync(db, images, null, ct);
        var now = time.GetUtcNow();
        // BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default): the status check, the update and the output rows commit
        // together, so a run failed meanwhile (e.g. by startup recovery) is never turned into a success.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changed = await db.Runs
            .Where(r => r.Id == runId && Unfinished.Contains(r.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, RunStatus.Succeeded)
                .SetProperty(r => r.Started, r => r.Started ?? now)
                .SetProperty(r => r.Finished, now)
                .SetProperty(r => r.OutputText, text)
                .SetProperty(r => r.LabelScoresJson, labels)
                .SetProperty(r => r.TimingsJson, r => timings ?? r.TimingsJson), ct);
        if (changed == 0)
            return false;
        for (var i = 0; i < images.Count; i++)
            db.RunImages.Add(new RunImage
            {
                RunId = runId,
                Role = RunImageRole.Output,
                Position = i,
                ImageSha256 = images[i],
                Flagged = outputs.OutputSafety?[i]?.Flagged ?? false,
                SafetyJson = NormaliseJson(outputs.OutputSafety?[i]?.Json, nameof(outputs.OutputSafety)),
            });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public Task<bool> MarkFailedAsync(long runId, string error, string? timingsJson = null, CancellationToken ct = default) =>
        FinishAsync(runId, RunStatus.Failed, error, timingsJson, ct);

    public Task<bool> MarkCancelledAsync(long runId, string? timingsJson = null, CancellationToken ct = default) =>
        FinishAsync(runId, RunStatus.Cancelled, "cancelled", timingsJson, ct);

    private async Task<bool> FinishAsync(long runId, RunStatus status, string error, string? timingsJson, CancellationToken ct)
    {
        var timings = NormaliseJson(timingsJson, nameof(timingsJson));
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var changed = await db.Runs
            .Where(r => r.Id == runId && Unfinished.Contains(r.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, status)
                .SetProperty(r => r.Error, error)
                .SetProperty(r => r.Finished, now)
                .SetProperty(r => r.TimingsJson, r => timings ?? r.TimingsJson), ct);
        if (changed == 1)
            logger.LogInformation("Run {RunId} {Status}: {Error}", runId, status, error);
        return changed == 1;
    }

    public async Task<Run?> GetAsync(long runId, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var run = await db.Runs.Visible(owner).AsNoTracking()
            .Include(r => r.Images).ThenInclude(i => i.Image)
            .SingleOrDefaultAsync(r => r.Id == runId, ct);
        if (run is not null)
            run.Images = run.Images.OrderByDescending(i => i.Role).ThenBy(i => i.Position).ToList(); // outputs first
        return run;
    }

    public async Task<Page<Run>> ListAsync(RunQuery query, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var runs = Filter(db, query);
        var total = await runs.CountAsync(ct);
        var items = await runs
            .OrderByDescending(r => r.Created).ThenByDescending(r => r.Id)
            .Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, MaxTake))
            .AsNoTracking()
            .ToListAsync(ct);
        return new Page<Run>(items, total);
    }

    public async Task<Page<GalleryItem>> ListGalleryAsync(RunQuery query, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var runs = Filter(db, query);
        var tiles =
            from ri in db.RunImages
            join r in runs on ri.RunId equals r.Id
            join img in db.Images on ri.ImageSha256 equals img.Sha256
            select new { ri, r, img };
        var total = await tiles.CountAsync(ct);
        var items = await tiles
            .OrderByDescending(t => t.r.Created).ThenByDescending(t => t.r.Id)
            .ThenByDescending(t => t.ri.Role).ThenBy(t => t.ri.Position)
            .Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, MaxTake))
            .Select(t => new GalleryItem(t.r.Id, t.img.Sha256, t.ri.Role, t.ri.Position, t.img.Width, t.img.Height,
                t.img.MimeType, t.r.Kind, t.r.Model, t.r.Prompt, t.r.Status, t.r.Favourite, t.r.Rating, t.r.Created, t.ri.Flagged))
            .ToListAsync(ct);
        return new Page<GalleryItem>(items, total);
    }

    public Task<IReadOnlyList<GalleryItem>> GalleryItemsForImagesAsync(IReadOnlyList<string> sha256s, OwnerScope owner, CancellationToken ct = default)
        => GalleryItemsForImagesAsync(sha256s, new RunQuery { Owner = owner }, ct);

    public async Task<IReadOnlyList<GalleryItem>> GalleryItemsForImagesAsync(IReadOnlyList<string> sha256s, RunQuery filter, CancellationToken ct = default)
    {
        if (sha256s.Count == 0)
            return [];
        var wanted = sha256s.Distinct().ToList();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await (
                from ri in db.RunImages
                join r in Filter(db, filter) on ri.RunId equals r.Id
                join img in db.Images on ri.ImageSha256 equals img.Sha256
                where wanted.Contains(ri.ImageSha256)
                select new GalleryItem(r.Id, img.Sha256, ri.Role, ri.Position, img.Width, img.Height,
                    img.MimeType, r.Kind, r.Model, r.Prompt, r.Status, r.Favourite, r.Rating, r.Created, ri.Flagged))
            .ToListAsync(ct);
        // Newest run per image, in the caller's order (e.g. similarity order).
        var latest = rows.GroupBy(g => g.ImageSha256)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(x => x.Created).ThenByDescending(x => x.RunId).First());
        return wanted.Where(latest.ContainsKey).Select(s => latest[s]).ToList();
    }

    public async Task<IReadOnlyList<string>> ListModelsAsync(OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Runs.Visible(owner).Select(r => r.Model).Distinct().OrderBy(m => m).ToListAsync(ct);
    }

    public async Task<bool> SetFavouriteAsync(long runId, bool favourite, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Runs.Visible(owner).Where(r => r.Id == runId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Favourite, favourite), ct) == 1;
    }

    public async Task<bool> DeleteAsync(long runId, OwnerScope owner, CancellationToken ct = default)
    {
        List<string> images;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            if (!await db.Runs.Visible(owner).AnyAsync(r => r.Id == runId, ct))
                return false;
            images = await db.RunImages.Where(i => i.RunId == runId).Select(i => i.ImageSha256).Distinct().ToListAsync(ct);
            // RunImages and ShareLinkItems cascade; chat messages, votes and derived runs keep their rows (FK set null).
            if (await db.Runs.Where(r => r.Id == runId).ExecuteDeleteAsync(ct) == 0)
                return false;
        }
        foreach (var sha in images)
            await blobs.DeleteIfUnreferencedAsync(sha, ct);
        logger.LogInformation("Deleted run {RunId}", runId);
        return true;
    }

    private static IQueryable<Run> Filter(HubDbContext db, RunQuery q)
    {
        var runs = db.Runs.Visible(q.Owner);
        if (q.Kind is { } kind)
            runs = runs.Where(r => r.Kind == kind);
        if (!string.IsNullOrWhiteSpace(q.Model))
            runs = runs.Where(r => r.Model == q.Model);
        if (q.Status is { } status)
            runs = runs.Where(r => r.Status == status);
        if (q.From is { } from)
            runs = runs.Where(r => r.Created >= from);
        if (q.To is { } to)
            runs = runs.Where(r => r.Created < to);
        if (q.FavouritesOnly)
            runs = runs.Where(r => r.Favourite);
        if (q.ChatSessionId is { } session)
            runs = runs.Where(r => r.ChatSessionId == session);
        if (db.Database.IsNpgsql())
        {
            // The generated tsvector column "SearchVector" (GIN index; migration Postgres InitialCreate).
            if (FullTextQuery.BuildTsQuery(q.Text) is { } tsquery)
            {
                var hits = db.Database.SqlQuery<long>($"""SELECT "Id" AS "Value" FROM "Runs" WHERE "SearchVector" @@ to_tsquery('simple', hub_unaccent({tsquery}))""");
                runs = runs.Where(r => hits.Contains(r.Id));
            }
        }
        else if (FullTextQuery.Build(q.Text) is { } match)
        {
            var hits = db.Database.SqlQuery<long>($"""SELECT rowid AS "Value" FROM "RunSearch" WHERE "RunSearch" MATCH {match}""");
            runs = runs.Where(r => hits.Contains(r.Id));
        }
        return runs;
    }

    /// <summary>Every image must be stored and, when an owner is given, readable by them: an image found only by
    /// guessing its hash never becomes part of someone's run.</summary>
    private static async Task EnsureImagesExistAsync(HubDbContext db, IReadOnlyList<string> shas, OwnerScope? owner, CancellationToken ct)
    {
        if (shas.Count == 0)
            return;
        var distinct = shas.Distinct().ToList();
        var found = await db.Images.Where(i => distinct.Contains(i.Sha256)).Select(i => i.Sha256).ToListAsync(ct);
        if (distinct.Except(found).FirstOrDefault() is { } missing)
            throw new ImageNotStoredException(missing);
        if (owner is null)
            return;
        foreach (var sha in distinct)
            if (!await OwnerScopeQueries.Readable(db, sha, owner).AnyAsync(ct))
                throw new ImageNotStoredException(sha);
    }

    /// <summary>Validates JSON text and stores it compactly; null stays null.</summary>
    private static string? NormaliseJson(string? json, string field)
    {
        if (json is null)
            return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{field} is not valid JSON: {e.Message}", field);
        }
    }
}
