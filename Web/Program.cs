var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/", () => "MultimodalHub");
app.Run();

public partial class Program;
