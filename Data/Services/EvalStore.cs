using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

/// <summary>A finished benchmark run to store (figures and JSON as the caller computed them).</summary>
public sealed record NewEvalRun(string Benchmark, string Model, string Dataset, int Images, int Questions, double Accuracy, double AccuracyPlus,
    string CategoriesJson, string ItemsJson, double DurationMs)
{
    public required string OwnerId { get; init; }
}

/// <summary>Benchmark runs (the Evaluate page's history), each owned; every query takes the caller's scope.</summary>
public interface IEvalStore
{
    Task<EvalRun> AddAsync(NewEvalRun run, CancellationToken ct = default);
    /// <summary>The scope's runs of one benchmark, newest first (without their items).</summary>
    Task<IReadOnlyList<EvalRun>> ListAsync(string benchmark, OwnerScope owner, int take = 100, CancellationToken ct = default);
    Task<EvalRun?> GetAsync(long id, OwnerScope owner, CancellationToken ct = default);
    Task<bool> DeleteAsync(long id, OwnerScope owner, CancellationToken ct = default);
}

internal sealed class EvalStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time) : IEvalStore
{
    public async Task<EvalRun> AddAsync(NewEvalRun run, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(run.Benchmark);
        ArgumentException.ThrowIfNullOrWhiteSpace(run.Model);
        ArgumentException.ThrowIfNullOrWhiteSpace(run.OwnerId);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = new EvalRun
        {
            OwnerId = run.OwnerId,
            Benchmark = run.Benchmark,
            Model = run.Model,
            // A file name as the dataset may be longer than the column (200): the start of it is kept.
            Dataset = string.IsNullOrWhiteSpace(run.Dataset) ? "(unnamed)" : Cut(run.Dataset.Trim(), 200),
            Images = run.Images,
            Questions = run.Questions,
            Accuracy = run.Accuracy,
            AccuracyPlus = run.AccuracyPlus,
            CategoriesJson = run.CategoriesJson,
            ItemsJson = run.ItemsJson,
            DurationMs = run.DurationMs,
            Created = time.GetUtcNow(),
        };
        db.EvalRuns.Add(row);
        await db.SaveChangesAsync(ct);
        return row;
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    public async Task<IReadOnlyList<EvalRun>> ListAsync(string benchmark, OwnerScope owner, int take = 100, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.EvalRuns.AsNoTracking().Visible(owner).Where(r => r.Benchmark == benchmark)
            .OrderByDescending(r => r.Created).ThenByDescending(r => r.Id).Take(Math.Clamp(take, 1, 1000))
            .Select(r => new { r.Id, r.OwnerId, r.Benchmark, r.Model, r.Dataset, r.Images, r.Questions, r.Accuracy, r.AccuracyPlus, r.CategoriesJson, r.Created, r.DurationMs })
            .ToListAsync(ct);
        return rows.Select(r => new EvalRun
        {
            Id = r.Id,
            OwnerId = r.OwnerId,
            Benchmark = r.Benchmark,
            Model = r.Model,
            Dataset = r.Dataset,
            Images = r.Images,
            Questions = r.Questions,
            Accuracy = r.Accuracy,
            AccuracyPlus = r.AccuracyPlus,
            CategoriesJson = r.CategoriesJson,
            ItemsJson = "",
            Created = r.Created,
            DurationMs = r.DurationMs,
        }).ToList();
    }

    public async Task<EvalRun?> GetAsync(long id, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.EvalRuns.AsNoTracking().Visible(owner).SingleOrDefaultAsync(r => r.Id == id, ct);
    }

    public async Task<bool> DeleteAsync(long id, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.EvalRuns.Visible(owner).Where(r => r.Id == id).ExecuteDeleteAsync(ct) == 1;
    }
}
