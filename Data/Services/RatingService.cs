using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

internal sealed class RatingService(
    IDbContextFactory<HubDbContext> dbs,
    TimeProvider time,
    ILogger<RatingService> logger) : IRatingService
{
    /// <summary>Cap on thumbs pairs per (kind, prompt) group so a heavily rated prompt cannot explode the export.</summary>
    private const int MaxThumbPairsPerPrompt = 100;

    internal static readonly JsonSerializerOptions JsonLines = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    public async Task<bool> SetThumbAsync(long runId, Thumb thumb, OwnerScope owner, CancellationToken ct = default)
    {
        if (!Enum.IsDefined(thumb))
            throw new ArgumentException("Unknown rating.", nameof(thumb));
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Runs.Visible(owner).Where(r => r.Id == runId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Rating, thumb), ct) == 1;
    }

    public async Task<AbVote> RecordAbVoteAsync(OwnerScope owner, string prompt, AbCandidate a, AbCandidate b, AbWinner winner, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        if (!Enum.IsDefined(winner))
            throw new ArgumentException("Unknown winner.", nameof(winner));
        var texts = CheckKinds(a, b);

        await using var db = await dbs.CreateDbContextAsync(ct);
        foreach (var run in new[] { a.RunId, b.RunId })
            if (run is { } id && !await db.Runs.Visible(owner).AnyAsync(r => r.Id == id, ct))
                throw new ArgumentException("Unknown run id in the comparison.", nameof(a));
        if (!texts)
            foreach (var sha in new[] { a.ImageSha256!, b.ImageSha256! })
                if (!await OwnerScopeQueries.Readable(db, sha, owner).AnyAsync(ct))
                    throw new ArgumentException("Unknown image id in the comparison.", nameof(a));
        var vote = new AbVote
        {
            OwnerId = owner.OwnerId,
            Prompt = prompt,
            ImageA = a.ImageSha256,
            ImageB = b.ImageSha256,
            TextA = a.Text,
            TextB = b.Text,
            RunA = a.RunId,
            RunB = b.RunId,
            ContenderA = await ContenderAsync(db, a, "a", ct),
            ContenderB = await ContenderAsync(db, b, "b", ct),
            Winner = winner,
            Created = time.GetUtcNow(),
        };
        if (!texts && await db.Images.CountAsync(i => i.Sha256 == a.ImageSha256 || i.Sha256 == b.ImageSha256, ct) != 2)
            throw new ArgumentException("Unknown image id in the comparison.", nameof(a));
        db.AbVotes.Add(vote);
        await db.SaveChangesAsync(ct);
        logger.LogDebug("A/B vote {VoteId}: {A} vs {B} → {Winner}", vote.Id, vote.ContenderA, vote.ContenderB, winner);
        return vote;
    }

    /// <summary>Both sides images (different ones) or both texts; true for texts.</summary>
    private static bool CheckKinds(AbCandidate a, AbCandidate b)
    {
        foreach (var (c, side) in new[] { (a, "a"), (b, "b") })
            if (c.IsText == !string.IsNullOrEmpty(c.ImageSha256))
                throw new ArgumentException($"Side {side}: give either an image or a text.", side);
        if (a.IsText != b.IsText)
            throw new ArgumentException("A and B must both be images or both be texts.", nameof(b));
        if (!a.IsText && a.ImageSha256 == b.ImageSha256)
            throw new ArgumentException("A and B must be different images.", nameof(b));
        return a.IsText;
    }

    public async Task<IReadOnlyList<AbVote>> ListAbVotesAsync(OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.AbVotes.AsNoTracking().Visible(owner)
            .OrderBy(v => v.Created).ThenBy(v => v.Id).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<PreferencePair>> PreferencePairsAsync(OwnerScope owner, CancellationToken ct = default)
    {
        var pairs = new List<PreferencePair>();
        foreach (var v in await ListAbVotesAsync(owner, ct))
        {
            if (v.Winner is AbWinner.Tie or AbWinner.BothBad)
                continue;
            var aWins = v.Winner == AbWinner.A;
            var (a, b) = (v.TextA ?? v.ImageA!, v.TextB ?? v.ImageB!);
            pairs.Add(new PreferencePair(v.Prompt,
                aWins ? a : b, aWins ? b : a,
                aWins ? v.ContenderA : v.ContenderB, aWins ? v.ContenderB : v.ContenderA,
                v.TextA is null ? "ab" : "arena", v.Created));
        }

        await using var db = await dbs.CreateDbContextAsync(ct);
        var rated = await db.Runs.AsNoTracking().Visible(owner)
            .Where(r => r.Rating != Thumb.None && r.Status == RunStatus.Succeeded && r.Prompt != null)
            .OrderBy(r => r.Created).ThenBy(r => r.Id)
            .Include(r => r.Images)
            .ToListAsync(ct);
        foreach (var group in rated.GroupBy(r => (r.Kind, r.Prompt!)))
        {
            var ups = group.Where(r => r.Rating == Thumb.Up).ToList();
            var downs = group.Where(r => r.Rating == Thumb.Down).ToList();
            foreach (var (up, down) in ups.SelectMany(u => downs.Select(d => (u, d))).Take(MaxThumbPairsPerPrompt))
            {
                if (Output(up) is not { } chosen || Output(down) is not { } rejected)
                    continue;
                var created = up.Created > down.Created ? up.Created : down.Created;
                pairs.Add(new PreferencePair(group.Key.Item2, chosen, rejected, up.Model, down.Model, "thumbs", created));
            }
        }
        return pairs;
    }

    public async Task<int> ExportPreferencePairsAsync(Stream output, OwnerScope owner, CancellationToken ct = default)
    {
        var pairs = await PreferencePairsAsync(owner, ct);
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
        foreach (var pair in pairs)
            await writer.WriteLineAsync(JsonSerializer.Serialize(pair, JsonLines).AsMemory(), ct);
        await writer.FlushAsync(ct);
        return pairs.Count;
    }

    public async Task<IReadOnlyList<EloEntry>> EloRankingAsync(OwnerScope owner, AbVoteKind kind = AbVoteKind.All, double kFactor = 32, double initial = 1500, CancellationToken ct = default)
    {
        var table = new Dictionary<string, (double Rating, int Wins, int Losses, int Ties)>(StringComparer.Ordinal);
        foreach (var v in await ListAbVotesAsync(owner, ct))
        {
            if (kind == AbVoteKind.Image && v.TextA is not null || kind == AbVoteKind.Text && v.TextA is null)
                continue;
            if (v.ContenderA == v.ContenderB)
                continue; // same model/settings on both sides says nothing about the ranking
            var a = table.GetValueOrDefault(v.ContenderA, (Rating: initial, Wins: 0, Losses: 0, Ties: 0));
            var b = table.GetValueOrDefault(v.ContenderB, (Rating: initial, Wins: 0, Losses: 0, Ties: 0));
            // Both bad counts as a tie, as in LMSYS's arena ratings.
            var tie = v.Winner is AbWinner.Tie or AbWinner.BothBad ? 1 : 0;
            var (newA, newB) = Elo.Update(a.Rating, b.Rating, v.Winner switch { AbWinner.A => 1.0, AbWinner.B => 0.0, _ => 0.5 }, kFactor);
            table[v.ContenderA] = (newA, a.Wins + (v.Winner == AbWinner.A ? 1 : 0), a.Losses + (v.Winner == AbWinner.B ? 1 : 0), a.Ties + tie);
            table[v.ContenderB] = (newB, b.Wins + (v.Winner == AbWinner.B ? 1 : 0), b.Losses + (v.Winner == AbWinner.A ? 1 : 0), b.Ties + tie);
        }
        return table
            .Select(kv => new EloEntry(kv.Key, kv.Value.Rating, kv.Value.Wins, kv.Value.Losses, kv.Value.Ties))
            .OrderByDescending(e => e.Rating).ThenBy(e => e.Contender, StringComparer.Ordinal)
            .ToList();
    }

    private static async Task<string> ContenderAsync(HubDbContext db, AbCandidate c, string side, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(c.Contender))
            return c.Contender.Trim();
        if (c.RunId is { } runId && await db.Runs.Where(r => r.Id == runId).Select(r => r.Model).SingleOrDefaultAsync(ct) is { } model)
            return model;
        throw new ArgumentException($"Side {side}: give a contender label or an existing run id.", side);
    }

    /// <summary>What a thumbs pair compares: the text output, else the first output image id.</summary>
    private static string? Output(Run r) =>
        !string.IsNullOrEmpty(r.OutputText) ? r.OutputText
        : r.Images.Where(i => i.Role == RunImageRole.Output).OrderBy(i => i.Position).Select(i => i.ImageSha256).FirstOrDefault();
}

/// <summary>Standard Elo update: expected score 1 / (1 + 10^((Rb − Ra) / 400)).</summary>
public static class Elo
{
    public static double Expected(double ratingA, double ratingB) => 1.0 / (1.0 + Math.Pow(10, (ratingB - ratingA) / 400.0));

    /// <summary>scoreA is 1 (A won), 0 (B won) or 0.5 (tie).</summary>
    public static (double A, double B) Update(double ratingA, double ratingB, double scoreA, double k)
    {
        var expectedA = Expected(ratingA, ratingB);
        var delta = k * (scoreA - expectedA);
        return (ratingA + delta, ratingB - delta);
    }
}
