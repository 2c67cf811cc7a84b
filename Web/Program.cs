using MultimodalHub.Web.Hosting;

var app = WebHost.Build(args);
await app.PrepareAsync();
app.Run();

public partial class Program;
