using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// A throw-away Redis Cluster on 127.0.0.1: three masters with one replica each, six redis-server
/// processes from the Debian package, joined by <c>redis-cli --cluster create</c>. Each node keeps an
/// append-only file. A master can be killed with SIGKILL; its replica is promoted by the cluster itself.
/// </summary>
public sealed class RedisClusterServer : IAsyncDisposable
{
    private const int Nodes = 6;

    private readonly string _directory;
    private readonly TimeSpan _nodeTimeout;
    private readonly Dictionary<int, Process> _processes = [];

    private RedisClusterServer(string directory, int[] ports, TimeSpan nodeTimeout)
    {
        _directory = directory;
        _nodeTimeout = nodeTimeout;
        Ports = ports;
    }

    /// <summary>Every node's port, masters and replicas alike.</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>A StackExchange.Redis configuration naming every node; the client discovers the slot map from any of them.</summary>
    public string ConnectionString =>
        string.Join(',', Ports.Select(p => $"127.0.0.1:{p}")) + ",abortConnect=false,connectTimeout=2000,syncTimeout=2000";

    /// <summary>
    /// Starts six nodes and joins them. <paramref name="nodeTimeout"/> is how long a node may be
    /// unreachable before the others fail it over (cluster-node-timeout): short for a failover test; the
    /// shared cluster keeps 15 s, so a busy machine never fails a master over under the contract suites.
    /// </summary>
    public static async Task<RedisClusterServer> StartNewAsync(TimeSpan nodeTimeout)
    {
        if (!File.Exists("/usr/bin/redis-server") || !File.Exists("/usr/bin/redis-cli"))
        {
            throw new InvalidOperationException("redis-server and redis-cli were not found; run tests/run.sh, which installs them (Debian package redis-server).");
        }

        // Each node also listens on its port + 10000 (the cluster bus). Below 22768, every bus port stays
        // under Linux's ephemeral range (32768 and up); other servers' ports come from below 12000.
        var ports = new int[Nodes];
        for (var i = 0; i < Nodes; i++)
        {
            do
            {
                ports[i] = Random.Shared.Next(12_000, 22_700);
            }
            while (ports[..i].Any(p => Math.Abs(p - ports[i]) is 0 or 10_000) || !ExternalProcess.IsFree(ports[i]) || !ExternalProcess.IsFree(ports[i] + 10_000));
        }

        var cluster = new RedisClusterServer(Directory.CreateTempSubdirectory("scoring-redis-cluster-").FullName, ports, nodeTimeout);
        try
        {
            await Task.WhenAll(ports.Select(cluster.StartNodeAsync));
            await ExternalProcess.RunAsync("/usr/bin/redis-cli",
            [
                "--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "1", "--cluster-yes",
            ]);
            await cluster.AwaitHealthyAsync(TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The port of the master that holds <paramref name="key"/>'s slot now.</summary>
    public async Task<int> MasterOfAsync(RedisKey key)
    {
        await using var connection = await ConnectAsync();
        var endpoint = connection.GetServer(key).EndPoint;
        return ((System.Net.IPEndPoint)endpoint).Port;
    }

    /// <summary>The ports of the masters that serve slots now, as the surviving nodes see it.</summary>
    public async Task<IReadOnlyList<int>> MastersAsync()
    {
        var nodes = await ClusterNodesAsync();
        return [.. nodes.Where(n => n.IsMaster && !n.Failed && n.HasSlots).Select(n => n.Port).Order()];
    }

    /// <summary>Kills a node with SIGKILL, as a crashed host would go.</summary>
    public void Kill(int port)
    {
        if (_processes.Remove(port, out var process))
        {
            process.Kill();
            process.WaitForExit();
            process.Dispose();
        }
    }

    /// <summary>
    /// Waits (bounded) until every slot is served again by a master that is up and the cluster says ok;
    /// returns how long that took.
    /// </summary>
    public async Task<TimeSpan> AwaitHealthyAsync(TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        do
        {
            try
            {
                var nodes = await ClusterNodesAsync();
                var servingMasters = nodes.Where(n => n.IsMaster && !n.Failed && n.HasSlots && _processes.ContainsKey(n.Port)).ToList();
                var states = await Task.WhenAll(_processes.Keys.Select(ClusterStateAsync));
                if (servingMasters.Count == 3 && states.All(s => s == "ok"))
                {
                    return clock.Elapsed;
                }

                last = $"{servingMasters.Count} masters serving, states {string.Join(',', states)}";
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                last = e.Message;
            }
        }
        while (clock.Elapsed < within && await poll.WaitForNextTickAsync());

        throw new TimeoutException($"The Redis Cluster was not healthy within {within.TotalSeconds:0} s: {last}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var port in _processes.Keys.ToList())
        {
            Kill(port);
        }

        await Task.CompletedTask;
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>An admin connection of the test's own, never the services'.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true");

    private async Task StartNodeAsync(int port)
    {
        var name = port.ToString(CultureInfo.InvariantCulture);
        var directory = Path.Combine(_directory, name);
        Directory.CreateDirectory(directory);
        var process = ExternalProcess.Start("/usr/bin/redis-server",
        [
            "--port", name, "--bind", "127.0.0.1", "--dir", directory,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", ((int)_nodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always",
        ]);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"redis-server on port {name} exited during start-up."));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_processes)
        {
            _processes[port] = process;
        }

        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<string> ClusterStateAsync(int port)
    {
        var info = await RedisCliAsync(port, "CLUSTER", "INFO");
        return info.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("cluster_state:", StringComparison.Ordinal))?["cluster_state:".Length..] ?? "unknown";
    }

    /// <summary>CLUSTER NODES as one surviving node sees it.</summary>
    private async Task<IReadOnlyList<ClusterNode>> ClusterNodesAsync()
    {
        var text = await RedisCliAsync(_processes.Keys.First(), "CLUSTER", "NODES");
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ClusterNode.Parse)];
    }

    /// <summary>One admin command through redis-cli, which prints the reply as the node wrote it.</summary>
    private static Task<string> RedisCliAsync(int port, params string[] command) =>
        ExternalProcess.RunAsync("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. command]);

    private sealed record ClusterNode(int Port, bool IsMaster, bool Failed, bool HasSlots)
    {
        // <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
        public static ClusterNode Parse(string line)
        {
            var fields = line.Trim().Split(' ');
            var address = fields[1].Split('@')[0];
            var flags = fields[2].Split(',');
            return new ClusterNode(
                int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture),
                flags.Contains("master"),
                flags.Contains("fail") || flags.Contains("fail?") || fields[7] != "connected",
                fields.Length > 8);
        }
    }
}
