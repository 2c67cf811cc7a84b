namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>
/// Configuration section "Safety": the image safety check run on every generated image (and on images sent to
/// /v1/moderations). Concepts come only from configuration (the shipped appsettings.json holds the shapes-world demo
/// set); with none, the check is off.
/// </summary>
public sealed class SafetyOptions
{
    public const string Section = "Safety";

    /// <summary>Run the check at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The CLIP model that embeds images and concept texts; default: the first installed CLIP model.</summary>
    public string? Model { get; set; }

    /// <summary>The concept texts and their thresholds.</summary>
    public List<SafetyConcept> Concepts { get; set; } = [];

    /// <summary>When no CLIP model can run the check: false (default) lets the image through unflagged and says checked: false; true fails the generation (503).</summary>
    public bool Required { get; set; }
}

/// <summary>One concept: an image whose CLIP embedding has cosine similarity ≥ <see cref="Threshold"/> with the text's is flagged for it.</summary>
public sealed class SafetyConcept
{
    /// <summary>The concept text, embedded as given (no prompt template), e.g. "a purple star".</summary>
    public string Text { get; set; } = "";

    /// <summary>Cosine similarity (-1..1) at which the concept is hit (Stable Diffusion's safety checker: concept_embeds_weights).</summary>
    public double Threshold { get; set; } = 0.7;

    /// <summary>The /v1/moderations category it counts for (OpenAI's names: sexual, violence, violence/graphic, hate, harassment, self-harm, illicit, ...).</summary>
    public string Category { get; set; } = "sexual";
}
