namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// A rule over whole tokens that the sampler obeys (constrained decoding): before each choice it removes the ids the
/// rule does not allow now, after it follows the chosen id. One instance per sequence (it holds the sequence's state).
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Set the logits of the ids not allowed now to -∞ (at least one id stays allowed).</summary>
    void Mask(Span<float> logits);

    /// <summary>Advance past the chosen id.</summary>
    void Accept(int id);
}
