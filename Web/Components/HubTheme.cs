using MudBlazor;

namespace MultimodalHub.Web.Components;

/// <summary>The app's MudBlazor theme (system fonts: nothing is fetched from the network).</summary>
public static class HubTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#4f46e5",
            Secondary = "#0d9488",
            AppbarBackground = "#312e81",
            Background = "#f7f7fb",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#818cf8",
            Secondary = "#2dd4bf",
            AppbarBackground = "#1e1b4b",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography
            {
                FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
            },
        },
        LayoutProperties = new LayoutProperties { DrawerWidthLeft = "230px" },
    };
}
