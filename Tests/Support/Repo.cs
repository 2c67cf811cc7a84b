namespace MultimodalHub.Tests.Support;

/// <summary>Paths inside the repository (the folder holding MultimodalHub.sln), found from the test binary's location.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    public static string Model(string id, params string[] parts) => Path.Combine([Models, id, .. parts]);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MultimodalHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MultimodalHub.sln not found above " + AppContext.BaseDirectory);
    }
}
