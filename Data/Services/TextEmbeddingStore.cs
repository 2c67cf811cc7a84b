using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

/// <summary>
/// Text vectors as float32 bytes in SQLite. What gets a vector: the prompt of an imagine run and the question of a vqa
/// run, the output text of a caption or vqa run (succeeded runs), and every non-empty user or assistant chat message
/// (chat runs themselves are left out: their texts are the conversation's messages). Search is the exact cosine scan.
/// </summary>
internal sealed class TextEmbeddingStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time) : ITextEmbeddingStore
{
    public async Task UpsertAsync(TextToEmbed text, string modelId, ReadOnlyMemory<float> vector, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        var bytes = CosineScan.ToBytes(vector);
        var created = time.GetUtcNow().ToUnixTimeMilliseconds();
        long? runId = text.Source == TextSource.ChatMessage ? null : text.ItemId;
        long? messageId = text.Source == TextSource.ChatMessage ? text.ItemId : null;
        var source = text.Source.ToString();
        await using var db = await dbs.CreateDbContextAsync(ct);
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO "TextEmbeddings" ("Source", "ItemId", "RunId", "ChatMessageId", "ModelId", "Dimensions", "Vector", "Created")
            VALUES ({source}, {text.ItemId}, {runId}, {messageId}, {modelId}, {vector.Length}, {bytes}, {created})
            ON CONFLICT ("ModelId", "Source", "ItemId") DO UPDATE SET "Dimensions" = excluded."Dimensions", "Vector" = excluded."Vector", "Created" = excluded."Created"
            """, ct);
    }

    public async Task<IReadOnlyList<TextToEmbed>> MissingAsync(string modelId, int limit = 64, CancellationToken ct = default)
    {
        limit = Math.Clamp(limit, 1, 10_000);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var vectors = db.TextEmbeddings.Where(t => t.ModelId == modelId);
        var succeeded = db.Runs.Where(r => r.Status == RunStatus.Succeeded);
        var prompts = await succeeded
            .Where(r => (r.Kind == RunKind.Imagine || r.Kind == RunKind.Vqa) && r.Prompt != null && r.Prompt.Trim() != "")
            .Where(r => !vectors.Any(t => t.Source == TextSource.RunPrompt && t.ItemId == r.Id))
            .OrderBy(r => r.Id).Take(limit).Select(r => new TextToEmbed(TextSource.RunPrompt, r.Id, r.Prompt!)).ToListAsync(ct);
        var outputs = await succeeded
            .Where(r => (r.Kind == RunKind.Caption || r.Kind == RunKind.Vqa) && r.OutputText != null && r.OutputText.Trim() != "")
            .Where(r => !vectors.Any(t => t.Source == TextSource.RunOutput && t.ItemId == r.Id))
            .OrderBy(r => r.Id).Take(limit).Select(r => new TextToEmbed(TextSource.RunOutput, r.Id, r.OutputText!)).ToListAsync(ct);
        var messages = await db.ChatMessages
            .Where(m => (m.Role == "user" || m.Role == "assistant") && m.Content.Trim() != "")
            .Where(m => !vectors.Any(t => t.Source == TextSource.ChatMessage && t.ItemId == m.Id))
            .OrderBy(m => m.Id).Take(limit).Select(m => new TextToEmbed(TextSource.ChatMessage, m.Id, m.Content)).ToListAsync(ct);
        return prompts.Concat(outputs).Concat(messages).Take(limit).ToList();
    }

    public async Task<IReadOnlyList<TextSearchHit>> NearestAsync(string modelId, ReadOnlyMemory<float> query, OwnerScope owner, int k = 20, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        // Only the owner's texts are scanned: run vectors through their run, message vectors through their conversation.
        var rows = db.TextEmbeddings.AsNoTracking()
            .Where(t => t.ModelId == modelId && t.Dimensions == query.Length)
            .Where(t => db.Runs.Visible(owner).Any(r => r.Id == t.RunId)
                        || db.ChatMessages.Any(m => m.Id == t.ChatMessageId && (owner.All || m.Session!.OwnerId == owner.OwnerId)))
            .Select(t => new { t.Source, t.ItemId, t.Vector })
            .AsAsyncEnumerable();
        var top = await CosineScan.TopAsync(rows, t => t.Vector, query, k, ct);

        var runIds = top.Where(t => t.Item.Source != TextSource.ChatMessage).Select(t => t.Item.ItemId).Distinct().ToList();
        var messageIds = top.Where(t => t.Item.Source == TextSource.ChatMessage).Select(t => t.Item.ItemId).ToList();
        var runs = await db.Runs.AsNoTracking().Where(r => runIds.Contains(r.Id))
            .Select(r => new
            {
                r.Id,
                r.Kind,
                r.Model,
                r.Prompt,
                r.OutputText,
                r.Created,
                Image = r.Images.OrderBy(i => i.Role == RunImageRole.Output ? 0 : 1).ThenBy(i => i.Position).Select(i => i.ImageSha256).FirstOrDefault(),
            })
            .ToDictionaryAsync(r => r.Id, ct);
        var messages = await db.ChatMessages.AsNoTracking().Where(m => messageIds.Contains(m.Id))
            .Select(m => new { m.Id, m.Content, m.SessionId, m.Session!.Title, m.Session.Model, m.RunId, m.Created })
            .ToDictionaryAsync(m => m.Id, ct);

        var hits = new List<TextSearchHit>(top.Count);
        foreach (var (item, score) in top)
        {
            if (item.Source == TextSource.ChatMessage)
            {
                if (messages.TryGetValue(item.ItemId, out var m))
                    hits.Add(new TextSearchHit(item.Source, item.ItemId, score, m.Content, m.Model, RunKind.Chat, m.RunId, m.SessionId, m.Title, null, m.Created));
            }
            else if (runs.TryGetValue(item.ItemId, out var r))
            {
                var text = item.Source == TextSource.RunPrompt ? r.Prompt : r.OutputText;
                hits.Add(new TextSearchHit(item.Source, item.ItemId, score, text ?? "", r.Model, r.Kind, r.Id, null, null, r.Image, r.Created));
            }
        }
        return hits;
    }
}
