namespace MultimodalHub.Tests.Support;

/// <summary>
/// The built service binaries of the same build as these tests: the tests run from Tests/&lt;out&gt;/ (bin/Debug/net10.0/linux-x64,
/// or bin/cuda/... for the CUDA build), and each service was built into the same &lt;out&gt; under its own project folder.
/// </summary>
public static class HubBinaries
{
    public static string Inference => Of("Inference", "MultimodalHub.Inference.dll");

    public static string Web => Of("Web", "MultimodalHub.Web.dll");

    public static string Of(string project, string dll)
    {
        var output = Path.GetRelativePath(Path.Combine(Repo.Root, "Tests"), AppContext.BaseDirectory);
        var path = Path.GetFullPath(Path.Combine(Repo.Root, project, output, dll));
        return File.Exists(path) ? path : throw new FileNotFoundException($"{dll} is not built at {path}; build the solution first.", path);
    }
}
