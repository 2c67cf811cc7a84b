namespace MultimodalHub.Data.Entities;

public enum AbWinner { A, B, Tie }

/// <summary>One A-versus-B comparison of two images for one prompt.</summary>
public sealed class AbVote : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    public string OwnerId { get; set; } = Owner.LocalId;
    public required string Prompt { get; set; }
    public required string ImageA { get; set; }
    public required string ImageB { get; set; }
    public long? RunA { get; set; }
    public long? RunB { get; set; }
    /// <summary>What is being ranked for side A: a model id or a settings label (e.g. "sd-shapes steps=20").</summary>
    public required string ContenderA { get; set; }
    public required string ContenderB { get; set; }
    public AbWinner Winner { get; set; }
    public DateTimeOffset Created { get; set; }
}
