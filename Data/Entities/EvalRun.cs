namespace MultimodalHub.Data.Entities;

/// <summary>
/// One finished run of a benchmark over a model (e.g. the MME-style yes/no benchmark over a VLM): the headline figures,
/// per-category figures and every item's answer as JSON, kept as history.
/// </summary>
public sealed class EvalRun : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    public string OwnerId { get; set; } = Owner.LocalId;
    /// <summary>Which benchmark: "yes-no" (MME-style).</summary>
    public required string Benchmark { get; set; }
    public required string Model { get; set; }
    /// <summary>The item set: "shapes demo" or the name of the loaded JSONL file.</summary>
    public required string Dataset { get; set; }
    public int Images { get; set; }
    public int Questions { get; set; }
    /// <summary>Fraction of questions answered right.</summary>
    public double Accuracy { get; set; }
    /// <summary>Fraction of images whose questions were all answered right (MME's acc+).</summary>
    public double AccuracyPlus { get; set; }
    /// <summary>Per-category figures as JSON.</summary>
    public required string CategoriesJson { get; set; }
    /// <summary>Every question with its expected and given answer, as JSON.</summary>
    public required string ItemsJson { get; set; }
    public DateTimeOffset Created { get; set; }
    public double DurationMs { get; set; }
}
