namespace MultimodalHub.Tests.Support;

/// <summary>Model fixtures made from the bundled models by Tests/Fixtures/make_*.py (`./hub fixtures`) under artifacts/fixtures/.</summary>
public static class Fixtures
{
    public static string Root => Path.Combine(Repo.Root, "artifacts", "fixtures");

    /// <summary>The folder of one fixture; throws (never skips) when it has not been made.</summary>
    public static string Dir(string name)
    {
        var dir = Path.Combine(Root, name);
        if (!Directory.Exists(dir))
            throw new InvalidOperationException($"Fixture '{name}' is missing under {Root}: run ./hub fixtures (it makes the ONNX variants the tests load).");
        return dir;
    }
}
