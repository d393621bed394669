namespace Scoring.Api.Tests.Infrastructure;

/// <summary>Files of this repository, found from the test binaries' folder.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "Scoring.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Scoring.sln not found above " + AppContext.BaseDirectory);
    }
}
