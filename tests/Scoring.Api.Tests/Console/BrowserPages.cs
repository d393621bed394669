using Microsoft.Playwright;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// The browser contexts one test opened. Disposed, it saves a screenshot of each page they had open, named
/// after the test (failed ones too), under the test output's screenshots/ folder, then closes them.
/// </summary>
public sealed class BrowserPages(IBrowser browser) : IAsyncDisposable
{
    private readonly List<IBrowserContext> _contexts = [];

    public async Task<(IBrowserContext Context, IPage Page)> NewPageAsync(BrowserNewContextOptions options)
    {
        var context = await browser.NewContextAsync(options);
        _contexts.Add(context);
        return (context, await context.NewPageAsync());
    }

    public static Task ScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        return page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        var test = TestContext.Current.TestMethod?.MethodName ?? "test";
        var pages = _contexts.SelectMany(c => c.Pages).ToList();
        foreach (var (page, index) in pages.Select((p, i) => (p, i)))
        {
            await ScreenshotAsync(page, pages.Count == 1 ? test : $"{test}-{index + 1}");
        }

        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }
}
