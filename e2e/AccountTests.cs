using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>Accounts in a real browser: the first-run setup page, two users who each see only their own gallery,
/// and an admin who disables a user whose open page is then signed out.</summary>
public sealed class AccountTests(PlatformFixture platform)
{
    private const string Password = "e2e long password";

    [Fact]
    public async Task First_start_leads_to_setup_which_makes_the_admin_and_then_closes()
    {
        var url = await platform.StartFreshWebAsync("web-fresh");
        var (context, page, errors) = await platform.NewAnonymousPageAsync(url);
        await using var _ = context;
        await page.GotoAsync("/gallery");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/setup$"));
        await Assertions.Expect(page.GetByTestId("setup")).ToBeVisibleAsync();
        await PlatformFixture.ScreenshotAsync(page, "setup");
        await page.GetByTestId("setup-user").FillAsync("owner");
        await page.GetByTestId("setup-password").FillAsync(Password);
        await page.GetByTestId("setup-confirm").FillAsync(Password + "x");
        await page.GetByTestId("setup-submit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("setup-error")).ToContainTextAsync("differ");
        await page.GetByTestId("setup-user").FillAsync("owner"); // the form comes back empty after the redirect
        await page.GetByTestId("setup-password").FillAsync(Password);
        await page.GetByTestId("setup-confirm").FillAsync(Password);
        await page.GetByTestId("setup-submit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync("owner");
        await PlatformFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("a.mud-nav-link", new() { HasText = "Accounts" })).ToBeVisibleAsync(); // the admin's page

        // Setup is closed now: another browser gets the sign-in page.
        var (other, otherPage, _) = await platform.NewAnonymousPageAsync(url);
        await using var __ = other;
        await otherPage.GotoAsync("/setup");
        await Assertions.Expect(otherPage).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));
        await Assertions.Expect(otherPage.GetByTestId("login-form")).ToBeVisibleAsync();
        PlatformFixture.AssertNoCspErrors(errors);
    }

    [Fact]
    public async Task Two_users_in_two_browsers_each_see_only_their_own_gallery()
    {
        await platform.CreateAccountAsync("gallery-ann", Password);
        await platform.CreateAccountAsync("gallery-ben", Password);
        var (annContext, ann, _) = await platform.NewPageAsync(await platform.SignInStateAsync("gallery-ann", Password));
        await using var a = annContext;
        var (benContext, ben, _) = await platform.NewPageAsync(await platform.SignInStateAsync("gallery-ben", Password));
        await using var b = benContext;

        await GenerateAsync(ann, "a purple square for ann");
        await GenerateAsync(ben, "a yellow star for ben");

        foreach (var (page, own, other) in new[] { (ann, "for ann", "for ben"), (ben, "for ben", "for ann") })
        {
            await page.GotoAsync("/gallery");
            await PlatformFixture.WaitInteractiveAsync(page);
            await Assertions.Expect(page.Locator("[data-testid=gallery-item]", new() { HasText = own })).ToHaveCountAsync(1);
            await Assertions.Expect(page.GetByTestId("gallery-item")).ToHaveCountAsync(1); // nothing of the other user, nothing of the admin's tests
            await Assertions.Expect(page.Locator("[data-testid=gallery-item]", new() { HasText = other })).ToHaveCountAsync(0);
        }
        await PlatformFixture.ScreenshotAsync(ben, "gallery-ben");

        // Ann's image by its address: Ben gets the same 404 as for an unknown image.
        var annImage = await ann.Locator("[data-testid=gallery-item] img").First.GetAttributeAsync("src");
        Assert.NotNull(annImage);
        Assert.Equal(200, (await annContext.APIRequest.GetAsync(annImage!)).Status);
        Assert.Equal(404, (await benContext.APIRequest.GetAsync(annImage!)).Status);
    }

    [Fact]
    public async Task An_admin_disables_a_user_whose_open_page_is_then_signed_out()
    {
        await platform.CreateAccountAsync("to-disable", Password);
        var (userContext, user, _) = await platform.NewPageAsync(await platform.SignInStateAsync("to-disable", Password));
        await using var u = userContext;
        await user.GotoAsync("/gallery");
        await PlatformFixture.WaitInteractiveAsync(user);

        var (adminContext, admin, _) = await platform.NewPageAsync();
        await using var ad = adminContext;
        await admin.GotoAsync("/admin");
        await PlatformFixture.WaitInteractiveAsync(admin);
        var row = admin.Locator("tr", new() { Has = admin.GetByTestId("account-name").GetByText("to-disable", new() { Exact = true }) });
        await Assertions.Expect(row.GetByTestId("account-state")).ToHaveTextAsync("active");
        await row.GetByTestId("account-toggle").ClickAsync();
        await Assertions.Expect(row.GetByTestId("account-state")).ToHaveTextAsync("disabled");
        await PlatformFixture.ScreenshotAsync(admin, "admin-accounts");

        // The user's live page loses its sign-in at the next check and lands on the sign-in page; signing in again fails.
        await Assertions.Expect(user).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"), new() { Timeout = 30_000 });
        await user.GetByTestId("login-user").FillAsync("to-disable");
        await user.GetByTestId("login-password").FillAsync(Password);
        await user.GetByTestId("login-submit").ClickAsync();
        await Assertions.Expect(user.GetByTestId("login-error")).ToBeVisibleAsync();
    }

    private static async Task GenerateAsync(IPage page, string prompt)
    {
        await page.GotoAsync("/imagine");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("prompt").FillAsync(prompt);
        await page.GetByTestId("steps").FillAsync("4");
        await page.GetByTestId("steps").PressAsync("Tab");
        await page.GetByTestId("generate").ClickAsync();
        await Assertions.Expect(page.GetByTestId("result-image")).ToHaveCountAsync(1, new() { Timeout = 120_000 });
    }
}
