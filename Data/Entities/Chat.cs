namespace MultimodalHub.Data.Entities;

public sealed class ChatSession : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    public string OwnerId { get; set; } = Owner.LocalId;
    public string Title { get; set; } = "New chat";
    public required string Model { get; set; }
    public string? SystemPrompt { get; set; }
    /// <summary>Sampling parameters used by the conversation as JSON.</summary>
    public string ParametersJson { get; set; } = "{}";
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset Updated { get; set; }

    public List<ChatMessageEntity> Messages { get; set; } = [];
}

public sealed class ChatMessageEntity
{
    public long Id { get; set; }
    public long SessionId { get; set; }
    /// <summary>Order inside the session, 0-based.</summary>
    public int Position { get; set; }
    /// <summary>system, user, assistant.</summary>
    public required string Role { get; set; }
    public string Content { get; set; } = "";
    /// <summary>Optional attached image.</summary>
    public string? ImageSha256 { get; set; }
    /// <summary>The run that produced an assistant message.</summary>
    public long? RunId { get; set; }
    public DateTimeOffset Created { get; set; }

    public ChatSession? Session { get; set; }
}
