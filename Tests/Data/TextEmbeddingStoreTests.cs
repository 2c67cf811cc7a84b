using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

/// <summary>Text vectors on a real SQLite file: which texts get one, upsert, cosine ranking with details, and cascade deletes.</summary>
public abstract class TextEmbeddingStoreTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Prompts_captions_answers_and_chat_messages_are_indexed_ranked_and_deleted_with_their_run_or_chat()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var texts = hub.Services.GetRequiredService<ITextEmbeddingStore>();
        var image = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);

        async Task<Run> Succeeded(RunKind kind, string? prompt, RunOutputs outputs, IReadOnlyList<string>? inputs = null)
        {
            var run = await hub.Runs.CreateAsync(new NewRun(kind, "m", prompt, InputImages: inputs) { OwnerId = Owner.LocalId }, Ct);
            await hub.Runs.MarkSucceededAsync(run.Id, outputs, Ct);
            return run;
        }
        var imagine = await Succeeded(RunKind.Imagine, "a red circle", new(OutputImages: [image.Sha256]));
        var caption = await Succeeded(RunKind.Caption, null, new(Text: "a dog on a beach"), [image.Sha256]);
        var vqa = await Succeeded(RunKind.Vqa, "what colour is it?", new(Text: "red"), [image.Sha256]);
        await Succeeded(RunKind.Classify, "red circle, blue square", new(LabelScoresJson: "[]"), [image.Sha256]);
        var failed = await hub.Runs.CreateAsync(new NewRun(RunKind.Imagine, "m", "never made") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkFailedAsync(failed.Id, "boom", ct: Ct);
        var chat = await hub.Chats.CreateSessionAsync(OwnerScope.Local, "m", "Bread", ct: Ct);
        await hub.Chats.AppendAsync(chat.Id, new NewChatMessage("system", "be brief"), OwnerScope.Local, Ct);
        var question = await hub.Chats.AppendAsync(chat.Id, new NewChatMessage("user", "how do I bake bread?"), OwnerScope.Local, Ct);
        var answer = await hub.Chats.AppendAsync(chat.Id, new NewChatMessage("assistant", "flour, water, yeast, salt"), OwnerScope.Local, Ct);
        await Succeeded(RunKind.Chat, "how do I bake bread?", new(Text: "flour, water, yeast, salt"));

        var missing = await texts.MissingAsync("minilm", ct: Ct);
        Assert.Equal(
            [(TextSource.RunPrompt, imagine.Id, "a red circle"), (TextSource.RunPrompt, vqa.Id, "what colour is it?"),
             (TextSource.RunOutput, caption.Id, "a dog on a beach"), (TextSource.RunOutput, vqa.Id, "red"),
             (TextSource.ChatMessage, question.Id, "how do I bake bread?"), (TextSource.ChatMessage, answer.Id, "flour, water, yeast, salt")],
            missing.Select(t => (t.Source, t.ItemId, t.Text)));

        // Vectors along axes: the query [1, 0.2, 0, ...] is closest to the imagine prompt, then the caption.
        for (var i = 0; i < missing.Count; i++)
        {
            var v = new float[8];
            v[i] = 1;
            await texts.UpsertAsync(missing[i], "minilm", v, Ct);
        }
        await texts.UpsertAsync(missing[0], "minilm", new float[] { 1, 0, 0, 0, 0, 0, 0, 0 }, Ct); // upsert replaces, no duplicate
        Assert.Empty(await texts.MissingAsync("minilm", ct: Ct));
        Assert.Equal(6, (await texts.MissingAsync("other", ct: Ct)).Count);

        var hits = await texts.NearestAsync("minilm", new float[] { 1, 0, 0.2f, 0, 0, 0.1f, 0, 0 }, OwnerScope.Local, 3, ct: Ct);
        Assert.Equal([imagine.Id, caption.Id, answer.Id], hits.Select(h => h.ItemId));
        Assert.Equal((RunKind?)RunKind.Imagine, hits[0].Kind);
        Assert.Equal(image.Sha256, hits[0].ImageSha256);
        Assert.Equal("a dog on a beach", hits[1].Text);
        Assert.Equal((chat.Id, "Bread", "flour, water, yeast, salt"), (hits[2].ChatSessionId!.Value, hits[2].ChatTitle, hits[2].Text));
        Assert.Empty(await texts.NearestAsync("minilm", new float[3], OwnerScope.Local, ct: Ct)); // other size: nothing

        await hub.Runs.DeleteAsync(imagine.Id, OwnerScope.Local, Ct);
        await hub.Chats.DeleteAsync(chat.Id, OwnerScope.Local, Ct);
        var left = await texts.NearestAsync("minilm", new float[] { 1, 1, 1, 1, 1, 1, 1, 1 }, OwnerScope.Local, 10, ct: Ct);
        Assert.Equal(
            new[] { (TextSource.RunPrompt, vqa.Id), (TextSource.RunOutput, caption.Id), (TextSource.RunOutput, vqa.Id) }.Order(),
            left.Select(h => (h.Source, h.ItemId)).Order());
    }
}

public sealed class TextEmbeddingStoreTestsOnSqlite() : TextEmbeddingStoreTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class TextEmbeddingStoreTestsOnPostgres(PostgresServer server) : TextEmbeddingStoreTests(server);
