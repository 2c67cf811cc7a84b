using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Accounts;

namespace MultimodalHub.Tests.Accounts;

/// <summary>Sign-in, first-run setup, antiforgery, cookie flags, lockout, disabling, password change and per-key rate
/// limits against the real web app on Kestrel (and the real inference service for keys).</summary>
public sealed class AccountFlowTests
{
    private const string Password = "a long enough password";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task First_start_setup_makes_the_admin_only_from_loopback_and_only_once()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        using var client = web.NewClient();
        // No account yet: every page leads to /setup (sign-in page → setup), which is served to this machine.
        var home = await client.GetAsync("/", Ct);
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        var login = await client.GetAsync(home.Headers.Location, Ct);
        Assert.Equal("/setup", login.Headers.Location?.AbsolutePath);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/setup", Ct)).StatusCode);

        // Through a proxy (a forwarded-for header) the setup page is not offered, and its post is a 404.
        using var proxied = web.NewClient();
        proxied.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");
        Assert.Equal(HttpStatusCode.Redirect, (await proxied.GetAsync("/setup", Ct)).StatusCode);

        var mismatch = await WebAppHost.PostFormAsync(client, "/setup", "/account/setup", new() { ["userName"] = "root", ["password"] = Password, ["confirm"] = "other" }, Ct);
        Assert.Equal("/setup?error=mismatch", mismatch.Headers.Location?.OriginalString);
        var created = await WebAppHost.PostFormAsync(client, "/setup", "/account/setup", new() { ["userName"] = "root", ["password"] = Password, ["confirm"] = Password }, Ct);
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        Assert.Equal("/", created.Headers.Location?.OriginalString);
        var page = await client.GetAsync("/admin", Ct); // signed in, and an admin
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        // Once an account exists: /setup sends to sign-in, and a (token-carrying) post is a 404.
        using var other = web.NewClient();
        Assert.Equal("/account/login", (await other.GetAsync("/setup", Ct)).Headers.Location?.AbsolutePath);
        var html = await other.GetStringAsync("/account/login", Ct);
        var again = await other.PostAsync("/account/setup", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebAppHost.Token(html),
            ["userName"] = "mallory",
            ["password"] = Password,
            ["confirm"] = Password,
        }), Ct);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        await using var scope = web.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<HubUser>>();
        Assert.Null(await users.FindByNameAsync("mallory"));
        Assert.True(await users.IsInRoleAsync((await users.FindByNameAsync("root"))!, HubRoles.Admin));
    }

    [Fact]
    public async Task Every_account_form_refuses_a_post_without_a_valid_antiforgery_token()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        await web.CreateAccountAsync("ann", Password, HubRoles.User);
        using var signedIn = await web.SignedInClientAsync("ann", Password, Ct);
        foreach (var action in new[] { "/account/login", "/account/logout", "/account/setup", "/account/register", "/account/password" })
        {
            var fields = new Dictionary<string, string> { ["userName"] = "ann", ["password"] = Password, ["current"] = Password, ["confirm"] = Password };
            var none = await signedIn.PostAsync(action, new FormUrlEncodedContent(fields), Ct);
            Assert.True(none.StatusCode == HttpStatusCode.BadRequest, $"{action} without a token: {(int)none.StatusCode}");
            fields["__RequestVerificationToken"] = "forged";
            var forged = await signedIn.PostAsync(action, new FormUrlEncodedContent(fields), Ct);
            Assert.True(forged.StatusCode == HttpStatusCode.BadRequest, $"{action} with a forged token: {(int)forged.StatusCode}");
        }
        Assert.Equal(HttpStatusCode.OK, (await signedIn.GetAsync("/gallery", Ct)).StatusCode); // still signed in: logout without a token did nothing
    }

    [Fact]
    public async Task The_sign_in_cookie_is_HttpOnly_SameSite_Lax_and_Secure_behind_a_TLS_proxy()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        await web.CreateAccountAsync("ann", Password, HubRoles.User);

        var plain = await SignInResponseAsync(web, null);
        var cookie = Assert.Single(plain.Headers.GetValues("Set-Cookie"), c => c.StartsWith(AccountServices.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);

        // A loopback proxy (trusted) that ended TLS says so with X-Forwarded-Proto: the cookie becomes Secure.
        var proxied = await SignInResponseAsync(web, "https");
        var secure = Assert.Single(proxied.Headers.GetValues("Set-Cookie"), c => c.StartsWith(AccountServices.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("; secure", secure, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", secure, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<HttpResponseMessage> SignInResponseAsync(WebAppHost web, string? forwardedProto)
    {
        using var client = web.NewClient();
        // The form is read over plain HTTP (so the test's cookie jar keeps the antiforgery cookie), the post says it came through TLS.
        var token = WebAppHost.Token(await client.GetStringAsync("/account/login", Ct));
        using var post = new HttpRequestMessage(HttpMethod.Post, "/account/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["userName"] = "ann", ["password"] = Password }),
        };
        if (forwardedProto is not null) post.Headers.Add("X-Forwarded-Proto", forwardedProto);
        var response = await client.SendAsync(post, Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response;
    }

    [Fact]
    public async Task Five_wrong_passwords_lock_the_account_even_against_the_right_one()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        await web.CreateAccountAsync("ann", Password, HubRoles.User);
        using var client = web.NewClient();
        for (var i = 0; i < 5; i++)
        {
            var wrong = await WebAppHost.PostFormAsync(client, "/account/login", "/account/login", new() { ["userName"] = "ann", ["password"] = "wrong password " + i }, Ct);
            Assert.StartsWith(i < 4 ? "/account/login?error=invalid" : "/account/login?error=locked", wrong.Headers.Location?.OriginalString);
        }
        var right = await WebAppHost.PostFormAsync(client, "/account/login", "/account/login", new() { ["userName"] = "ann", ["password"] = Password }, Ct);
        Assert.StartsWith("/account/login?error=locked", right.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/gallery", Ct)).StatusCode);
        Assert.Contains("locked", await client.GetStringAsync(right.Headers.Location, Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disabled_account_is_signed_out_cannot_sign_in_and_its_keys_are_refused()
    {
        await using var web = await WebAppHost.StartAsync(Ct); // cookies are checked again every second here
        var adminId = await web.CreateAccountAsync("root", Password, HubRoles.Admin);
        var annId = await web.CreateAccountAsync("ann", Password, HubRoles.User);
        using var ann = await web.SignedInClientAsync("ann", Password, Ct);
        Assert.Equal(HttpStatusCode.OK, (await ann.GetAsync("/gallery", Ct)).StatusCode);
        var key = await web.Services.GetRequiredService<IApiKeyStore>().CreateAsync(new OwnerScope(annId), "k", ct: Ct);
        Assert.True((await web.Services.GetRequiredService<IApiKeyStore>().ValidateAsync(key.Secret, Ct)).IsValid);

        await using (var scope = web.Services.CreateAsyncScope())
            Assert.True((await scope.ServiceProvider.GetRequiredService<AccountAdmin>().SetDisabledAsync(annId, true, adminId)).Succeeded);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var after = await ann.GetAsync("/gallery", Ct);
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Equal("/account/login", after.Headers.Location?.AbsolutePath);
        using var again = web.NewClient();
        var refused = await WebAppHost.PostFormAsync(again, "/account/login", "/account/login", new() { ["userName"] = "ann", ["password"] = Password }, Ct);
        Assert.StartsWith("/account/login?error=invalid", refused.Headers.Location?.OriginalString);
        Assert.Equal(ApiKeyStatus.Disabled, (await web.Services.GetRequiredService<IApiKeyStore>().ValidateAsync(key.Secret, Ct)).Status);
        await using (var scope = web.Services.CreateAsyncScope())
            Assert.Equal("self", (await scope.ServiceProvider.GetRequiredService<AccountAdmin>().SetDisabledAsync(adminId, true, adminId)).Error);
    }

    [Fact]
    public async Task Changing_the_password_keeps_this_browser_and_signs_out_the_others()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        await web.CreateAccountAsync("ann", Password, HubRoles.User);
        using var here = await web.SignedInClientAsync("ann", Password, Ct);
        using var elsewhere = await web.SignedInClientAsync("ann", Password, Ct);
        var wrong = await WebAppHost.PostFormAsync(here, "/account/password", "/account/password", new() { ["current"] = "nope", ["password"] = "another long password", ["confirm"] = "another long password" }, Ct);
        Assert.Equal("/account/password?error=wrong", wrong.Headers.Location?.OriginalString);
        var changed = await WebAppHost.PostFormAsync(here, "/account/password", "/account/password", new() { ["current"] = Password, ["password"] = "another long password", ["confirm"] = "another long password" }, Ct);
        Assert.Equal("/account/password?done=1", changed.Headers.Location?.OriginalString);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        Assert.Equal(HttpStatusCode.OK, (await here.GetAsync("/gallery", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await elsewhere.GetAsync("/gallery", Ct)).StatusCode);
        using var fresh = await web.SignedInClientAsync("ann", "another long password", Ct);
    }

    [Fact]
    public async Task Registration_is_off_by_default_and_makes_users_when_on()
    {
        await using var closed = await WebAppHost.StartAsync(Ct);
        await closed.CreateAccountAsync("root", Password, HubRoles.Admin);
        using (var client = closed.NewClient())
            Assert.Equal("/account/login", (await client.GetAsync("/account/register", Ct)).Headers.Location?.AbsolutePath);

        await using var open = await WebAppHost.StartAsync(Ct, "--Auth:AllowRegistration=true");
        await open.CreateAccountAsync("root", Password, HubRoles.Admin);
        using var newcomer = open.NewClient();
        var made = await WebAppHost.PostFormAsync(newcomer, "/account/register", "/account/register", new() { ["userName"] = "newbie", ["password"] = Password, ["confirm"] = Password }, Ct);
        Assert.Equal("/", made.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await newcomer.GetAsync("/imagine", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await newcomer.GetAsync("/admin", Ct)).StatusCode); // a user, not an admin
    }

    [Fact]
    public async Task A_key_with_its_own_limit_gets_429_past_it_while_another_key_goes_on()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        var ann = await web.CreateAccountAsync("ann", Password, HubRoles.User);
        var keys = web.Services.GetRequiredService<IApiKeyStore>();
        var tight = await keys.CreateAsync(new OwnerScope(ann), "tight", requestsPerMinute: 2, ct: Ct);
        var roomy = await keys.CreateAsync(new OwnerScope(ann), "roomy", ct: Ct);
        await using var inference = new InferenceFactory(settings: new Dictionary<string, string> { ["Auth:RequireApiKey"] = "true", ["Data:DatabasePath"] = web.DatabasePath });
        using var http = inference.CreateClient();
        var codes = new List<int>();
        for (var i = 0; i < 3; i++) codes.Add((int)(await Send(http, tight.Secret)).StatusCode);
        Assert.Equal([200, 200, 429], codes);
        Assert.Equal(HttpStatusCode.OK, (await Send(http, roomy.Secret)).StatusCode);
        var used = (await keys.ListAsync(new OwnerScope(ann), Ct)).Single(k => k.Id == tight.Key.Id);
        Assert.NotNull(used.LastUsed);
    }

    [Fact]
    public async Task Each_web_app_key_has_the_client_limit_to_itself_not_one_per_address()
    {
        // Two web apps behind one gateway reach a worker from the same address: each one's service key is its own client.
        await using var web = await WebAppHost.StartAsync(Ct);
        var keys = web.Services.GetRequiredService<IApiKeyStore>();
        await using var inference = new InferenceFactory(settings: new Dictionary<string, string>
        {
            ["Auth:RequireApiKey"] = "true",
            ["Data:DatabasePath"] = web.DatabasePath,
            ["Limits:RequestsPerMinute"] = "2",
        });
        using var http = inference.CreateClient();
        var first = await keys.CreateServiceKeyAsync(Ct);
        var codes = new List<int>();
        for (var i = 0; i < 3; i++) codes.Add((int)(await Send(http, first)).StatusCode);
        Assert.Equal([200, 200, 429], codes);
        var next = await keys.CreateServiceKeyAsync(Ct); // the same address, another web app key: a fresh window
        Assert.Equal(HttpStatusCode.OK, (await Send(http, next)).StatusCode);
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http.SendAsync(request, Ct);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5081", true)]
    [InlineData("http://localhost:5081", true)]
    [InlineData("http://[::1]:5081", true)]
    [InlineData("http://0.0.0.0:5081", false)]
    [InlineData("http://+:5081", false)]
    [InlineData("http://*:5081", false)]
    [InlineData("http://[::]:5081", false)]
    [InlineData("http://192.168.1.20:5081", false)]
    public void Keys_are_required_when_the_service_listens_beyond_loopback(string address, bool loopback) =>
        Assert.Equal(loopback, ApiKeyPolicy.IsLoopback(address));

    [Fact]
    public async Task Without_RequireApiKey_a_loopback_service_ignores_the_header()
    {
        await using var inference = new InferenceFactory();
        using var http = inference.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await Send(http, "mh_not-a-key")).StatusCode);
    }
}
