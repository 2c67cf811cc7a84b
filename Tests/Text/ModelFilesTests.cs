using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Tests.Text;

/// <summary>ModelFiles.ReadJson: the one reader of model-folder JSON (tokenizer, chat template, diffusion configs).</summary>
public sealed class ModelFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("modelfiles").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Missing_is_null_comments_and_trailing_commas_are_read_and_the_element_outlives_its_document()
    {
        Assert.Null(ModelFiles.ReadJson(Path.Combine(_dir, "none.json")));
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, "{\n // a comment\n \"a\": [1, 2,],\n}");
        var root = ModelFiles.ReadJson(path)!.Value;
        GC.Collect();
        Assert.Equal(2, root.GetProperty("a").GetArrayLength());
    }

    [Fact]
    public void Bad_json_names_the_file()
    {
        var path = Path.Combine(_dir, "tokenizer_config.json");
        File.WriteAllText(path, "{\"chat_template\": ");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => ModelFiles.ReadJson(path)).Message);
        // and the chat template loader reports it the same way
        Assert.Contains("tokenizer_config.json", Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(_dir)).Message);
    }
}
