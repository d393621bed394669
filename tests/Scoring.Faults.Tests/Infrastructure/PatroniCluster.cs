using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Faults.Tests.Infrastructure;

/// <summary>
/// A throw-away PostgreSQL failover cluster on 127.0.0.1 from the Debian packages (etcd-server, patroni,
/// postgresql): one etcd and two Patroni nodes, each managing a PostgreSQL server. One node is the
/// primary, the other a streaming standby in synchronous mode, so a commit is acknowledged only once the
/// standby has flushed it. A node's host can be crashed (kill -9 of Patroni and of every PostgreSQL
/// process); the survivor takes the leader key once the crashed leader's expires in etcd, and promotes.
/// </summary>
public sealed class PatroniCluster : IAsyncDisposable
{
    private const string Scope = "scoring";
    private const string User = "postgres";
    private static readonly string PostgresBin = PostgresServer.FindBinaries();
    private const string Patroni = "/usr/bin/patroni";
    private const string Etcd = "/usr/bin/etcd";

    /// <summary>How long the leader key lives in etcd unrenewed: a crashed leader is replaced about this long after it died.</summary>
    public static readonly TimeSpan LeaderTtl = TimeSpan.FromSeconds(10);

    private readonly string _directory;
    private readonly int _etcdPort;
    private readonly int _etcdPeerPort;
    private readonly PatroniNode[] _nodes;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly OutputTail _etcdOutput = new();
    private Process? _etcd;
    private (PatroniNode Node, long At)? _killed;

    private PatroniCluster(string directory, int[] ports)
    {
        _directory = directory;
        _etcdPort = ports[0];
        _etcdPeerPort = ports[1];
        _nodes =
        [
            new PatroniNode("node1", Path.Combine(directory, "node1"), ports[2], ports[3]),
            new PatroniNode("node2", Path.Combine(directory, "node2"), ports[4], ports[5]),
        ];
    }

    /// <summary>
    /// Starts etcd and both nodes and returns once one node leads and the other streams to it as its
    /// synchronous standby.
    /// </summary>
    public static async Task<PatroniCluster> StartAsync()
    {
        foreach (var (file, package) in new[] { (Etcd, "etcd-server"), (Patroni, "patroni"), (Path.Combine(PostgresBin, "postgres"), "postgresql") })
        {
            if (!File.Exists(file))
            {
                throw new InvalidOperationException($"{file} was not found; run tests/run.sh, which installs it (Debian package {package}).");
            }
        }

        var ports = new HashSet<int>();
        while (ports.Count < 6)
        {
            ports.Add(ExternalProcess.FreePort());
        }

        var cluster = new PatroniCluster(Directory.CreateTempSubdirectory("scoring-patroni-").FullName, [.. ports]);
        try
        {
            await cluster.StartEtcdAsync();
            foreach (var node in cluster._nodes)
            {
                Directory.CreateDirectory(node.Directory);
                await File.WriteAllTextAsync(node.ConfigFile, cluster.Config(node));
            }

            if (ExternalProcess.IsRoot)
            {
                // Patroni and PostgreSQL refuse to run as root, so root runs them as the postgres user, who
                // must reach the nodes' directories through the cluster's (a temporary directory is private).
                await ExternalProcess.RunAsync("chown", [$"{User}:{User}", cluster._directory]);
                await ExternalProcess.RunAsync("chown", ["-R", $"{User}:{User}", .. cluster._nodes.Select(n => n.Directory)]);
            }

            foreach (var node in cluster._nodes)
            {
                node.Start();
            }

            await cluster.AwaitSynchronousStandbyAsync(TimeSpan.FromSeconds(120));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A connection string naming both nodes, for the node that takes writes now: Npgsql tries each host
    /// and keeps the one that is not in recovery, so after a failover it finds the promoted standby.
    /// </summary>
    public string ConnectionString(string database) =>
        $"Host={string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.PostgresPort}"))};Username={User};Database={database};Target Session Attributes=read-write";

    /// <summary>A fresh database on the primary (replicated to the standby); the service's migrations create its tables.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        const string name = "scoring";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false;Timeout=5");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>The leading node's name as Patroni's REST API says it, or null while none leads.</summary>
    public async Task<string?> LeaderAsync() =>
        (await MembersAsync())?.FirstOrDefault(m => m.Role == "leader" && m.State == "running")?.Name;

    /// <summary>Every member as Patroni reports it ("node1 leader running, node2 sync_standby running lag 0").</summary>
    public async Task<string> DescribeAsync() =>
        (await MembersAsync()) is { } members ? string.Join(", ", members) : "no node answers its REST API";

    /// <summary>
    /// Crashes the leader's host: SIGKILL to its Patroni (which then can neither restart PostgreSQL nor
    /// hand the leader key over) and to the postmaster and every process it started, all at once.
    /// Returns what was killed.
    /// </summary>
    public async Task<string> KillLeaderAsync()
    {
        var leaderName = await LeaderAsync() ?? throw new InvalidOperationException($"No node leads, so none can be killed: {await DescribeAsync()}");
        var leader = _nodes.Single(n => n.Name == leaderName);
        _killed = (leader, Stopwatch.GetTimestamp());
        return await leader.CrashAsync();
    }

    /// <summary>
    /// Waits (bounded) until a node other than the killed one is a running primary holding the leader
    /// key; returns it and how long that took from the kill.
    /// </summary>
    public async Task<(string Leader, TimeSpan After)> AwaitNewLeaderAsync(TimeSpan within)
    {
        var (killed, at) = _killed ?? throw new InvalidOperationException("No leader was killed.");
        var survivors = _nodes.Where(n => n != killed).ToList();
        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        do
        {
            foreach (var node in survivors)
            {
                if (await IsPrimaryAsync(node))
                {
                    return (node.Name, Stopwatch.GetElapsedTime(at));
                }
            }
        }
        while (clock.Elapsed < within && await poll.WaitForNextTickAsync());

        throw new TimeoutException($"No standby was promoted within {within.TotalSeconds:0} s of killing the leader, {killed.Name}: {await DescribeAsync()}\n{Logs()}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.CrashAsync();
        }

        if (_etcd is { HasExited: false })
        {
            _etcd.Kill(entireProcessTree: true);
            await _etcd.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _etcd?.Dispose();
        _http.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task StartEtcdAsync()
    {
        var data = Path.Combine(_directory, "etcd");
        var client = $"http://127.0.0.1:{_etcdPort}";
        var peer = $"http://127.0.0.1:{_etcdPeerPort}";
        _etcd = ExternalProcess.Start(Etcd,
        [
            "--name", "etcd", "--data-dir", data,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"etcd={peer}", "--initial-cluster-state", "new",
            "--logger", "zap", "--log-level", "warn",
        ]);
        _etcdOutput.Follow(_etcd);

        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        do
        {
            try
            {
                using var response = await _http.GetAsync($"{client}/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
        }
        while (!_etcd.HasExited && clock.Elapsed < TimeSpan.FromSeconds(30) && await poll.WaitForNextTickAsync());

        throw new TimeoutException($"etcd did not answer /health within 30 s:\n{_etcdOutput}");
    }

    /// <summary>
    /// Patroni's settings for one node. Both carry the cluster-wide settings (bootstrap.dcs); the node
    /// that initialises the cluster writes them to etcd. synchronous_mode: the primary names the standby
    /// in synchronous_standby_names, so an acknowledged commit is on both; only that standby may be
    /// promoted. Not strict: a primary left alone keeps taking writes.
    /// </summary>
    private string Config(PatroniNode node) => string.Create(CultureInfo.InvariantCulture, $"""
        scope: {Scope}
        name: {node.Name}
        restapi:
          listen: 127.0.0.1:{node.RestPort}
          connect_address: 127.0.0.1:{node.RestPort}
        etcd3:
          hosts: 127.0.0.1:{_etcdPort}
        bootstrap:
          dcs:
            ttl: {LeaderTtl.TotalSeconds:0}
            loop_wait: 1
            retry_timeout: 5
            maximum_lag_on_failover: 1048576
            synchronous_mode: true
            postgresql:
              use_pg_rewind: false
              use_slots: true
              parameters:
                max_connections: 200
                wal_level: replica
                hot_standby: "on"
                max_wal_senders: 10
                max_replication_slots: 10
          initdb:
            - encoding: UTF8
            - locale: C
        postgresql:
          listen: 127.0.0.1:{node.PostgresPort}
          connect_address: 127.0.0.1:{node.PostgresPort}
          data_dir: {node.DataDirectory}
          bin_dir: {PostgresBin}
          pgpass: {node.Directory}/pgpass
          authentication:
            superuser:
              username: {User}
              password: postgres
            replication:
              username: replicator
              password: replicator
          parameters:
            unix_socket_directories: {node.Directory}
          pg_hba:
            - host all all 127.0.0.1/32 trust
            - host replication all 127.0.0.1/32 trust
        """);

    /// <summary>Waits (bounded) until a leader runs and the other node streams to it as a synchronous standby.</summary>
    private async Task AwaitSynchronousStandbyAsync(TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        do
        {
            if (_nodes.FirstOrDefault(n => !n.IsRunning) is { } exited)
            {
                throw new InvalidOperationException($"{exited.Name}'s Patroni exited during start-up:\n{Logs()}");
            }

            var members = await MembersAsync();
            last = members is null ? "no node answers its REST API" : string.Join(", ", members);
            if (members is not null
                && members.Any(m => m.Role == "leader" && m.State == "running")
                && members.Any(m => m.Role == "sync_standby" && m.State is "running" or "streaming")
                && await SynchronousStandbysAsync() == 1)
            {
                return;
            }
        }
        while (clock.Elapsed < within && await poll.WaitForNextTickAsync());

        throw new TimeoutException($"The Patroni cluster had no leader with a synchronous standby within {within.TotalSeconds:0} s: {last}\n{Logs()}");
    }

    /// <summary>The primary's own word: standbys streaming to it whose flush a commit waits for.</summary>
    private async Task<int> SynchronousStandbysAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false;Timeout=5");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'", connection);
            return Convert.ToInt32(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        catch (NpgsqlException)
        {
            return 0;
        }
    }

    /// <summary>The members as the first node that answers GET /cluster reports them; null if none answers.</summary>
    private async Task<IReadOnlyList<Member>?> MembersAsync()
    {
        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            try
            {
                using var document = JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{node.RestPort}/cluster"));
                return [.. document.RootElement.GetProperty("members").EnumerateArray().Select(Member.Parse)];
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                // Try the other node.
            }
        }

        return null;
    }

    /// <summary>Patroni's GET /primary: 200 only from a running primary that holds the leader key.</summary>
    private async Task<bool> IsPrimaryAsync(PatroniNode node)
    {
        try
        {
            using var response = await _http.GetAsync($"http://127.0.0.1:{node.RestPort}/primary");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private string Logs() => string.Join('\n', _nodes.Select(n => $"{n.Name}'s Patroni wrote last:\n{n.Output}")) + $"\netcd wrote last:\n{_etcdOutput}";

    private sealed record Member(string Name, string Role, string State, string? Lag)
    {
        public static Member Parse(JsonElement member) => new(
            member.GetProperty("name").GetString()!,
            member.GetProperty("role").GetString()!,
            member.GetProperty("state").GetString()!,
            member.TryGetProperty("lag", out var lag) ? lag.ToString() : null);

        public override string ToString() => $"{Name} {Role} {State}{(Lag is null ? "" : $" lag {Lag}")}";
    }

    /// <summary>One Patroni node: its directory, ports and process; the PostgreSQL server it manages runs detached from it.</summary>
    private sealed class PatroniNode(string name, string directory, int postgresPort, int restPort)
    {
        private Process? _patroni;

        public string Name { get; } = name;

        public string Directory { get; } = directory;

        public string DataDirectory => Path.Combine(Directory, "data");

        public string ConfigFile => Path.Combine(Directory, "patroni.yml");

        public int PostgresPort { get; } = postgresPort;

        public int RestPort { get; } = restPort;

        public OutputTail Output { get; } = new();

        public bool IsRunning => _patroni is { HasExited: false };

        public void Start()
        {
            _patroni = ExternalProcess.Start(Patroni, [ConfigFile], User);
            Output.Follow(_patroni);
        }

        /// <summary>
        /// SIGKILL, in one kill(1), to Patroni and to the postmaster with every process it started, as a
        /// host crash stops them all at once; says what it killed. Nothing, if nothing runs.
        /// </summary>
        public async Task<string> CrashAsync()
        {
            // As root, Patroni runs under runuser.
            IReadOnlyList<int> patroni = _patroni is { HasExited: false } running ? [running.Id, .. await ChildrenAsync(running.Id)] : [];
            var postmaster = await PostmasterAsync();
            IReadOnlyList<int> postgres = postmaster is { } pid ? [pid, .. await ChildrenAsync(pid)] : [];
            if (patroni.Count + postgres.Count > 0)
            {
                // A process may exit on its own meanwhile (Patroni's own backend, say); kill signals the rest
                // and its exit status says only that one was gone.
                using var kill = ExternalProcess.Start("kill", ["-9", .. patroni.Concat(postgres).Select(p => p.ToString(CultureInfo.InvariantCulture))]);
                await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            if (_patroni is { } process)
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                process.Dispose();
                _patroni = null;
            }

            var killed = new List<string>();
            if (patroni.Count > 0)
            {
                killed.Add($"Patroni (pids {string.Join(", ", patroni)})");
            }

            if (postgres.Count > 0)
            {
                killed.Add($"the postmaster (pid {postgres[0]}) with its {postgres.Count - 1} processes");
            }

            return $"{Name}: {(killed.Count > 0 ? string.Join(" and ", killed) : "nothing ran")}";
        }

        /// <summary>The postmaster's pid (postmaster.pid's first line), if it runs.</summary>
        private async Task<int?> PostmasterAsync()
        {
            var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
            if (!File.Exists(pidFile))
            {
                return null;
            }

            var pid = int.Parse((await File.ReadAllLinesAsync(pidFile))[0], CultureInfo.InvariantCulture);
            string program;
            try
            {
                program = (await File.ReadAllTextAsync($"/proc/{pid}/comm")).Trim();
            }
            catch (IOException)
            {
                program = "";
            }

            // Gone, or its pid since taken by another program: nothing of this node's to kill.
            return program == "postgres" ? pid : null;
        }

        private static async Task<IReadOnlyList<int>> ChildrenAsync(int pid)
        {
            using var ps = ExternalProcess.Start("ps", ["-o", "pid=", "--ppid", pid.ToString(CultureInfo.InvariantCulture)]);
            // ps exits with 1 when there are none.
            var output = await ps.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await ps.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
        }
    }

    /// <summary>The last lines a server process wrote, kept for a failure message (reading them also keeps its pipes from filling).</summary>
    private sealed class OutputTail
    {
        private const int Lines = 60;
        private readonly ConcurrentQueue<string> _lines = new();

        public void Follow(Process process)
        {
            process.OutputDataReceived += (_, e) => Keep(e.Data);
            process.ErrorDataReceived += (_, e) => Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public override string ToString() => string.Join('\n', _lines);

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            _lines.Enqueue(line);
            while (_lines.Count > Lines && _lines.TryDequeue(out _))
            {
            }
        }
    }
}
