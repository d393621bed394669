using Scoring.Api.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddScoring();

var app = builder.Build();
app.MapScoring();
await app.PrepareAsync();
await app.RunAsync();

/// <summary>The entry point; public so integration tests can host it.</summary>
public partial class Program;
