using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>Runs the helper commands that start and stop the throw-away servers.</summary>
internal static class ExternalProcess
{
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>
    /// Runs a command to completion (as <paramref name="asUser"/> when root), failing with its output;
    /// returns what it wrote to standard output.
    /// </summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, string? asUser = null)
    {
        using var process = Start(fileName, arguments, asUser);
        var output = new StringBuilder();
        var standardOutput = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
                standardOutput.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} exited with {process.ExitCode}:\n{output}");
        }

        lock (output)
        {
            return standardOutput.ToString();
        }
    }

    public static Process Start(string fileName, IEnumerable<string> arguments, string? asUser = null)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // PostgreSQL refuses to run as root, so root runs it as the postgres user.
        if (asUser is not null && IsRoot)
        {
            info.FileName = "runuser";
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add(asUser);
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(fileName);
        }
        else
        {
            info.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start.");
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
