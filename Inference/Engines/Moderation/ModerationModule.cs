namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>Registers the image safety check (and /v1/moderations).</summary>
public static class ModerationModule
{
    public static IServiceCollection AddModeration(this IServiceCollection services)
    {
        services.AddOptions<SafetyOptions>().BindConfiguration(SafetyOptions.Section)
            .Validate(ImageSafetyCheck.Valid, "Safety:Concepts: every concept needs a Text, a Threshold between -1 and 1 and a Category of OpenAI's moderation categories.")
            .ValidateOnStart();
        services.AddSingleton<ImageSafetyCheck>();
        services.AddOptions<ModerationOptions>().BindConfiguration(ModerationOptions.Section)
            .Validate(TextModeration.Valid, "Moderation: every rule needs one of OpenAI's moderation categories, non-empty words and valid patterns; Classifier:UnsafePattern must be a valid regular expression.")
            .ValidateOnStart();
        services.AddSingleton<TextModeration>();
        services.AddSingleton<ModerationService>();
        return services;
    }
}
