namespace MultimodalHub.Data.Entities;

/// <summary>An image embedding from one model (e.g. CLIP) stored as little-endian float32 bytes.</summary>
public sealed class Embedding
{
    public required string ImageSha256 { get; set; }
    public required string ModelId { get; set; }
    public int Dimensions { get; set; }
    public required byte[] Vector { get; set; }
    public DateTimeOffset Created { get; set; }
}
