namespace MultimodalHub.Data.Entities;

/// <summary>Which stored text a vector is of: a run's prompt (imagine) or question (vqa), a run's output text (caption, answer), or a chat message.</summary>
public enum TextSource { RunPrompt, RunOutput, ChatMessage }

/// <summary>
/// A sentence-embedding vector of one stored text for one model (little-endian float32 bytes), for search by meaning.
/// <see cref="ItemId"/> is the run's id (run sources) or the chat message's id; exactly one of <see cref="RunId"/> and
/// <see cref="ChatMessageId"/> is set too, so the vector goes when its run or message is deleted.
/// </summary>
public sealed class TextEmbedding
{
    public long Id { get; set; }
    public TextSource Source { get; set; }
    public long ItemId { get; set; }
    public long? RunId { get; set; }
    public long? ChatMessageId { get; set; }
    public required string ModelId { get; set; }
    public int Dimensions { get; set; }
    public required byte[] Vector { get; set; }
    public DateTimeOffset Created { get; set; }
}
