namespace MultimodalHub.Data.Entities;

/// <summary>Who owns runs, chats, votes and share links. One local owner for now; the model is ready for accounts.</summary>
public sealed class Owner
{
    /// <summary>The single local owner used until multi-user accounts exist.</summary>
    public const string LocalId = "local";

    public required string Id { get; set; }
    public required string DisplayName { get; set; }
    public DateTimeOffset Created { get; set; }
}
