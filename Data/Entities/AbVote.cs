namespace MultimodalHub.Data.Entities;

/// <summary>The vote: A or B better, a tie, or both bad (LMSYS arena's four choices; both bad counts as a tie in Elo).</summary>
public enum AbWinner { A, B, Tie, BothBad }

/// <summary>Which votes a ranking counts: all, image votes (the Ratings page) or text votes (the chat arena).</summary>
public enum AbVoteKind { All, Image, Text }

/// <summary>One A-versus-B comparison for one prompt: of two images (the Ratings page), or of two chat answers (the
/// arena). Exactly one of <see cref="ImageA"/> / <see cref="TextA"/> is set, and the same on side B.</summary>
public sealed class AbVote : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    public string OwnerId { get; set; } = Owner.LocalId;
    public required string Prompt { get; set; }
    /// <summary>Image votes: the compared images (null for a text vote).</summary>
    public string? ImageA { get; set; }
    public string? ImageB { get; set; }
    /// <summary>Text votes (arena): the compared answers as shown (null for an image vote).</summary>
    public string? TextA { get; set; }
    public string? TextB { get; set; }
    public long? RunA { get; set; }
    public long? RunB { get; set; }
    /// <summary>What is being ranked for side A: a model id or a settings label (e.g. "sd-shapes · euler · 20 steps · cfg 7.5",
    /// "shapes-chat · temperature 0.7 · top-p 0.9 · 64 tokens").</summary>
    public required string ContenderA { get; set; }
    public required string ContenderB { get; set; }
    public AbWinner Winner { get; set; }
    public DateTimeOffset Created { get; set; }
}
