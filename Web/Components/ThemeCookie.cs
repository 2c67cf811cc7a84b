namespace MultimodalHub.Web.Components;

public static class ThemeCookie
{
    public const string Name = "hub-theme";
}
