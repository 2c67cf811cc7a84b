using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Vlm;

/// <summary>The whole VLM pipeline (CLIP preprocessing → encoder → template → expansion → KV decoding) on 100 scenes the test draws itself.</summary>
public sealed class VlmMeaningTests(VlmFixture f) : IClassFixture<VlmFixture>
{
    private string Answer(float[] features, IReadOnlyList<ChatMessage> messages)
    {
        var prompt = VlmPrompt.Build(f.Model, messages, 1);
        var (choice, _, _) = VlmRun.Run(f.Model, prompt, [features], "scene", new VlmDecoding(SamplingOptions.GreedyDefault(24)), null, _ => { }, CancellationToken.None);
        return choice.Text.Trim();
    }

    [Fact]
    public void Captions_and_answers_on_100_drawn_scenes_are_at_least_90_percent_exact()
    {
        var random = new Random(2024);
        int captions = 0, captionHits = 0, questions = 0, questionHits = 0;
        var misses = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var scene = ShapeScenes.Sample(random);
            var features = VlmEncode.ImageFeatures(f.Model, VlmPreprocess.PixelValues(f.Model, ShapeScenes.Render(scene)));
            var caption = Answer(features, VlmEngine.CaptionMessages("describe the image."));
            captions++;
            if (caption == scene.Caption) captionHits++; else misses.Add($"caption '{caption}' != '{scene.Caption}'");
            foreach (var (q, expected) in ShapeScenes.Questions(scene, random).OrderBy(_ => random.Next()).Take(3))
            {
                var answer = Answer(features, VlmEngine.VqaMessages(q, [], null));
                questions++;
                if (answer == expected) questionHits++; else misses.Add($"{q} '{answer}' != '{expected}' ({scene})");
            }
        }
        var captionRate = (double)captionHits / captions;
        var vqaRate = (double)questionHits / questions;
        TestContext.Current.SendDiagnosticMessage($"caption exact {captionRate:P1}, VQA exact {vqaRate:P1} ({questions} questions)");
        Assert.True(captionRate >= 0.9 && vqaRate >= 0.9,
            $"caption {captionRate:P1}, VQA {vqaRate:P1}; misses:\n{string.Join("\n", misses.Take(30))}");
    }
}
