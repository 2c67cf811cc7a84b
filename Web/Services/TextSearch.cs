using System.Text.Json;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Services;
using MultimodalHub.Web.Client;
using MultimodalHub.Web.Hosting;

namespace MultimodalHub.Web.Services;

/// <summary>What a search by meaning found, or why it could not search.</summary>
public sealed record TextSearchResult(IReadOnlyList<TextSearchHit> Hits, string? Model, string? Error);

/// <summary>
/// Search by meaning over prompts, captions, answers and chat messages, with the inference service's first
/// sentence-embedding model (kind "embedding"): texts get their vectors when runs and messages are recorded
/// (<see cref="Notify"/>, from <see cref="RunRecorder"/> and the chat page), old ones are backfilled
/// (<see cref="TextIndexBackfill"/>, and before every search), and results are ranked by cosine similarity.
/// </summary>
public sealed class TextSearch(ITextEmbeddingStore store, InferenceClient client, InferenceHealth health, ILogger<TextSearch> log) : IDisposable
{
    /// <summary>Texts per embeddings request while indexing.</summary>
    public const int BatchSize = 32;

    /// <summary>Longest text sent (the model reads only its first 512 word pieces anyway).</summary>
    public const int MaxChars = 8000;

    private readonly SemaphoreSlim _indexing = new(1, 1);
    private int _queued;

    /// <summary>The model texts are embedded with: the first ready embedding model the service lists, or null.</summary>
    public string? Model => health.Current.FirstOf(Contracts.ModelKind.Embedding)?.Id;

    /// <summary>Embeds the stored texts that have no vector for the model yet (at most <paramref name="maxTexts"/>); returns how many.</summary>
    public async Task<int> IndexAsync(CancellationToken ct, int maxTexts = 20_000)
    {
        if (Model is not { } model) return 0;
        await _indexing.WaitAsync(ct);
        try
        {
            var done = 0;
            while (done < maxTexts)
            {
                var missing = await store.MissingAsync(model, BatchSize, ct);
                if (missing.Count == 0) break;
                var input = JsonSerializer.SerializeToElement(missing.Select(t => t.Text.Length > MaxChars ? t.Text[..MaxChars] : t.Text).ToArray());
                var response = await client.PostJsonAsync<Contracts.EmbeddingsRequest, Contracts.EmbeddingsResponse>("v1/embeddings", new(Input: input, Model: model), ct);
                foreach (var (text, item) in missing.Zip(response.Data))
                    await store.UpsertAsync(text, model, item.Embedding.Values, ct);
                done += missing.Count;
            }
            if (done > 0) log.LogInformation("Embedded {Count} stored text(s) with {Model} for search by meaning", done, model);
            return done;
        }
        finally
        {
            _indexing.Release();
        }
    }

    /// <summary>Indexes new texts in the background (a run or message was just stored); failures are logged, never thrown.</summary>
    public void Notify()
    {
        if (Interlocked.Exchange(ref _queued, 1) == 1) return; // one pass is already queued and will see these texts too
        _ = Task.Run(async () =>
        {
            Interlocked.Exchange(ref _queued, 0);
            try { await IndexAsync(CancellationToken.None); }
            catch (Exception e) { log.LogWarning(e, "Indexing texts for search by meaning failed; the next run or search retries"); }
        });
    }

    /// <summary>The <paramref name="k"/> stored texts closest in meaning to <paramref name="query"/>, after indexing what is missing.</summary>
    public async Task<TextSearchResult> SearchAsync(string query, int k, OwnerScope owner, CancellationToken ct)
    {
        if (Model is not { } model) return new([], null, "Search by meaning needs a sentence-embedding model in the inference service (none is available now; see the README: models import-nuget).");
        try
        {
            await IndexAsync(ct);
            var vector = await client.PostJsonAsync<Contracts.EmbeddingsRequest, Contracts.EmbeddingsResponse>("v1/embeddings",
                new(Input: JsonSerializer.SerializeToElement(query), Model: model), ct);
            return new(await store.NearestAsync(model, vector.Data[0].Embedding.Values, owner, k, ct), model, null);
        }
        catch (Exception e) when (e is InferenceUnavailableException or InferenceProblemException)
        {
            return new([], model, "Search by meaning is unavailable: " + RunText.Describe(e));
        }
    }

    public void Dispose() => _indexing.Dispose();
}

/// <summary>Backfills text vectors for runs and messages stored before an embedding model was installed, at start and every <see cref="WebOptions.TextIndexInterval"/>.</summary>
public sealed class TextIndexBackfill(TextSearch search, IOptions<WebOptions> options, ILogger<TextIndexBackfill> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.TextIndexInterval);
        do
        {
            try { await search.IndexAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { log.LogWarning(e, "Backfilling text vectors failed; retrying in {Interval}", options.Value.TextIndexInterval); }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
