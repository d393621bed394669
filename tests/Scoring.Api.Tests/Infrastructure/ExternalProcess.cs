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

        // PostgreSQL refuses to run as root, so root runs it as the postgres user. From /tmp, not the test's
        // own directory: a clone under a directory only root may enter (/root, or mktemp -d) would leave
        // that user no working directory, and Patroni's bootstrap then never finished.
        if (asUser is not null && IsRoot)
        {
            info.WorkingDirectory = Path.GetTempPath();
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

    // Every port handed out by this process, so two servers starting at once never get the same one.
    private static readonly HashSet<int> Issued = [];

    // Ports in the range below that Chromium refuses to load (ERR_UNSAFE_PORT, its restricted-port list):
    // a console or identity provider on one of them fails every browser test that navigates there.
    private static readonly HashSet<int> RefusedByBrowsers = [2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080];

    /// <summary>
    /// A loopback port that was free a moment ago, below Linux's ephemeral range (32768 and up) and below
    /// the Redis Cluster nodes' ports (12000 and up). A port from the ephemeral range, even one free a
    /// moment ago, can become the source port of any outgoing connection before its server binds it: after
    /// the Api tests' thousands of connections, a Patroni node's PostgreSQL once could not start for that.
    /// </summary>
    public static int FreePort()
    {
        lock (Issued)
        {
            if (Issued.Count > 8_000)
            {
                // Nearly every port of the range handed out once: start over rather than search forever.
                Issued.Clear();
            }

            while (true)
            {
                var port = Random.Shared.Next(2_000, 12_000);
                if (!RefusedByBrowsers.Contains(port) && Issued.Add(port) && IsFree(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>Whether nothing listens on the loopback port (or holds it) right now.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
