namespace MultimodalHub.Data.Entities;

public enum RunKind { Classify, Caption, Vqa, Imagine, Chat }

public enum RunStatus { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>Thumbs rating of a result. Stored as -1 / 0 / 1.</summary>
public enum Thumb { Down = -1, None = 0, Up = 1 }

/// <summary>One run (job) of any engine, with everything needed to reproduce it and its outputs.</summary>
public sealed class Run : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    public string OwnerId { get; set; } = Owner.LocalId;
    public RunKind Kind { get; set; }
    public required string Model { get; set; }
    /// <summary>Prompt, question (vqa), candidate labels (classify, comma separated) or last user message (chat).</summary>
    public string? Prompt { get; set; }
    public string? NegativePrompt { get; set; }
    /// <summary>All request parameters as JSON (seed, steps, guidance, scheduler, size, labels, max tokens ...).</summary>
    public string ParametersJson { get; set; } = "{}";
    public RunStatus Status { get; set; }
    /// <summary>The web app instance that created or started it (<see cref="Storage.HubInstance"/>); a run left
    /// queued/running by an instance that is gone is failed by the others.</summary>
    public int? Instance { get; set; }
    public string? Error { get; set; }
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset? Started { get; set; }
    public DateTimeOffset? Finished { get; set; }
    /// <summary>Timings as JSON (e.g. {"queue_ms":3,"encode_ms":10,"total_ms":120}).</summary>
    public string? TimingsJson { get; set; }
    /// <summary>Text output: caption, answer, chat reply.</summary>
    public string? OutputText { get; set; }
    /// <summary>Classification output as JSON ([{"label":"red circle","score":0.93}, ...]).</summary>
    public string? LabelScoresJson { get; set; }
    public bool Favourite { get; set; }
    public Thumb Rating { get; set; }
    /// <summary>Chat runs: the conversation they belong to.</summary>
    public long? ChatSessionId { get; set; }
    /// <summary>Re-run / vary-seed: the run this one was derived from.</summary>
    public long? ParentRunId { get; set; }

    public List<RunImage> Images { get; set; } = [];
}

public enum RunImageRole { Input, Output }

/// <summary>Join row: an image used by a run as input or produced as output, in order.</summary>
public sealed class RunImage
{
    public long RunId { get; set; }
    public RunImageRole Role { get; set; }
    public int Position { get; set; }
    public required string ImageSha256 { get; set; }
    /// <summary>Output images: the inference service's safety check flagged it (shown blurred to its owner, never on a share page).</summary>
    public bool Flagged { get; set; }
    /// <summary>Output images: the safety check's verdict as the service sent it (JSON), when it ran.</summary>
    public string? SafetyJson { get; set; }

    public Run? Run { get; set; }
    public StoredImage? Image { get; set; }
}
