using MultimodalHub.Web.Accounts;
using MultimodalHub.Web.Hosting;

if (UsersCommand.Matches(args))
    return await UsersCommand.RunAsync(args);

var app = WebHost.Build(args);
await app.PrepareAsync();
await app.RunAsync();
return 0;

public partial class Program;
