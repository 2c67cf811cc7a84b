using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Moderation;

/// <summary>
/// The inference host with the safety concepts the tests reason about: "a red star" and "a blue circle" (threshold 0.7,
/// the cosine similarity at which clip-shapes puts generated images of the same words; other shapes stay far below it).
/// </summary>
public sealed class SafetyFixture : IDisposable
{
    public const double Threshold = 0.7;

    public InferenceFactory Factory { get; } = new(settings: new Dictionary<string, string>
    {
        ["Safety:Concepts:0:Text"] = "a red star",
        ["Safety:Concepts:0:Threshold"] = "0.7",
        ["Safety:Concepts:0:Category"] = "violence",
        ["Safety:Concepts:1:Text"] = "a blue circle",
        ["Safety:Concepts:1:Threshold"] = "0.7",
        ["Safety:Concepts:1:Category"] = "sexual",
    });

    public void Dispose() => Factory.Dispose();
}
