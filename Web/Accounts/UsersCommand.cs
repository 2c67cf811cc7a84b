using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using MultimodalHub.Data.Entities;
using MultimodalHub.Web.Hosting;

namespace MultimodalHub.Web.Accounts;

/// <summary>
/// `MultimodalHub.Web users add NAME [--admin|--viewer] [--password-stdin] [--Data:DatabasePath=...]` (`./hub users add`):
/// creates an account in the web app's database without starting the server, for the first admin on a machine
/// without a browser, or for scripts. The password is read from standard input with --password-stdin, otherwise a
/// random one is made and printed once. Exit codes: 0 done, 1 refused (e.g. name taken), 2 bad arguments.
/// </summary>
public static class UsersCommand
{
    public static bool Matches(string[] args) => args is ["users", ..];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["users", "add", var name, ..] || name.StartsWith('-'))
        {
            await Console.Error.WriteLineAsync("usage: users add NAME [--admin|--viewer] [--password-stdin] [--Data:DatabasePath=PATH]");
            return 2;
        }
        var flags = args[3..].Where(a => !a.StartsWith("--Data:", StringComparison.Ordinal) && !a.StartsWith("--Auth:", StringComparison.Ordinal)).ToList();
        var unknown = flags.Except(["--admin", "--viewer", "--password-stdin"]).ToList();
        if (unknown.Count > 0 || (flags.Contains("--admin") && flags.Contains("--viewer")))
        {
            await Console.Error.WriteLineAsync($"users add: unknown or conflicting options: {string.Join(' ', unknown.DefaultIfEmpty("--admin --viewer"))}");
            return 2;
        }
        var role = flags.Contains("--admin") ? HubRoles.Admin : flags.Contains("--viewer") ? HubRoles.Viewer : HubRoles.User;
        var password = flags.Contains("--password-stdin") ? (await Console.In.ReadLineAsync())?.TrimEnd('\r', '\n') ?? "" : null;

        var host = WebHost.Build(args.Where(a => a.StartsWith("--Data:", StringComparison.Ordinal) || a.StartsWith("--Auth:", StringComparison.Ordinal)).ToArray());
        await host.Services.MigrateHubDataAsync();
        await using var scope = host.Services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<AccountAdmin>();
        var chosen = password ?? AccountAdmin.NewPassword();
        var result = await accounts.CreateAsync(name, chosen, role);
        if (!result.Succeeded)
        {
            await Console.Error.WriteLineAsync($"users add: {AccountMessages.For(result.Error)}");
            return 1;
        }
        Console.WriteLine(password is null
            ? $"created {role} account '{name}' with password: {chosen}"
            : $"created {role} account '{name}'");
        return 0;
    }
}
