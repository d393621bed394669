using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using YamlDotNet.RepresentationModel;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Deployment;

/// <summary>
/// The chart's dashboard and alerts against what the service really exports: every series and label
/// their queries name must be in a scrape of the running service, so a renamed instrument or a label
/// that never existed fails here rather than as an empty panel or an alert that cannot fire.
/// </summary>
public sealed partial class MonitoringTests(TestServers servers)
{
    /// <summary>Labels Prometheus adds to what it scrapes (the target's), not in the service's own text.</summary>
    private static readonly HashSet<string> TargetLabels = ["job", "namespace", "instance", "pod", "service", "endpoint", "container"];

    private static readonly HashSet<string> Keywords =
        ["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan"];

    [Fact]
    public async Task Every_series_and_label_the_dashboard_and_the_alerts_query_is_in_the_services_scrape()
    {
        var queries = await DashboardAndAlertQueriesAsync();
        var exported = Parse(await ScrapeAfterEveryKindOfCallAsync());

        var missing = new List<string>();
        var used = new HashSet<string>();
        foreach (var query in queries)
        {
            var (names, selectors, grouping) = Analyse(query);
            used.UnionWith(names);
            missing.AddRange(names.Where(name => !exported.ContainsKey(name)).Select(name => $"{name} (in {query})"));
            foreach (var (name, label) in selectors)
            {
                if (exported.TryGetValue(name, out var labels) && !labels.Contains(label) && !TargetLabels.Contains(label))
                {
                    missing.Add($"label {label} of {name} (in {query})");
                }
            }

            // A grouping label must be on a series the query reads.
            var available = names.SelectMany(name => exported.GetValueOrDefault(name) ?? []).ToHashSet();
            missing.AddRange(grouping.Where(label => !available.Contains(label) && !TargetLabels.Contains(label)).Select(label => $"grouping label {label} (in {query})"));
        }

        Assert.True(missing.Count == 0, "Not in the scrape:\n" + string.Join('\n', missing));
        // What the panels and alerts are about, so a parser that found nothing could not pass.
        Assert.Superset(
            new HashSet<string>
            {
                "http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket",
                "scoring_violations_recorded_total", "scoring_appeals_submitted_total", "scoring_appeals_decided_total",
                "scoring_appeals_open", "scoring_appeals_overdue", "scoring_appeal_decision_seconds_bucket",
                "scoring_appeal_decision_seconds_sum", "scoring_appeal_decision_seconds_count",
                "scoring_write_queue_depth", "scoring_write_queue_capacity", "scoring_cache_repairs_pending",
                "scoring_cache_available", "scoring_cache_lookups_total",
            },
            used);
        // A histogram is read whole: where one of its series is used, all three are exported.
        foreach (var histogram in used.Where(n => n.EndsWith("_bucket", StringComparison.Ordinal)).Select(n => n[..^"_bucket".Length]))
        {
            Assert.All(new[] { "_bucket", "_sum", "_count" }, suffix => Assert.True(exported.ContainsKey(histogram + suffix), histogram + suffix));
        }
    }

    /// <summary>The dashboard's queries (panels and variables) and the alert rules' expressions, from the rendered chart.</summary>
    private static async Task<List<string>> DashboardAndAlertQueriesAsync()
    {
        var manifests = await HelmChartTests.RenderAsync("--set", "grafana.dashboard.enabled=true", "--set", "prometheusRule.enabled=true");
        var configMap = Assert.Single(manifests, m => m["kind"].Text() == "ConfigMap" && m["metadata"]["name"].Text() == "scoring-dashboard");
        using var dashboard = JsonDocument.Parse(Assert.Single(((YamlMappingNode)configMap["data"]).Children).Value.Text());
        var rule = Assert.Single(manifests, m => m["kind"].Text() == "PrometheusRule");

        var queries = new List<string>();
        void Panels(JsonElement panels)
        {
            foreach (var panel in panels.EnumerateArray())
            {
                if (panel.TryGetProperty("targets", out var targets))
                {
                    queries.AddRange(targets.EnumerateArray().Select(t => t.GetProperty("expr").GetString()!));
                }

                if (panel.TryGetProperty("panels", out var nested))
                {
                    Panels(nested);
                }
            }
        }

        Panels(dashboard.RootElement.GetProperty("panels"));
        foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            // label_values(metric, label) reads the label off the metric's series.
            if (variable.GetProperty("type").GetString() == "query"
                && LabelValues().Match(variable.GetProperty("query").GetProperty("query").GetString()!) is { Success: true } match)
            {
                queries.Add($"{match.Groups[1].Value}{{{match.Groups[2].Value}=\"\"}}");
            }
        }

        queries.AddRange(((YamlSequenceNode)rule["spec"]["groups"]).Children
            .SelectMany(group => ((YamlSequenceNode)group["rules"]).Children)
            .Select(r => r["expr"].Text()));
        Assert.True(queries.Count >= 20, $"only {queries.Count} queries found");
        return queries;
    }

    /// <summary>
    /// The service as a process on PostgreSQL and Redis, after calls that give every counter and histogram
    /// a sample: violations recorded (and one replayed), an appeal submitted and decided, cached and uncached
    /// score reads, and a call refused with a status other than OK.
    /// </summary>
    private async Task<string> ScrapeAfterEveryKindOfCallAsync()
    {
        using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["ConnectionStrings__Redis"] = servers.Redis.ConnectionString,
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
        });
        var userId = NewUserId();
        var spam = Violation(userId, "spam", Severity.Medium);
        await server.Scoring.RecordViolationAsync(spam);
        await server.Scoring.RecordViolationAsync(spam);
        var contested = Violation(userId, "harassment", Severity.High);
        contested.DecidedBy = "mod-7";
        var violation = (await server.Scoring.RecordViolationAsync(contested)).Violation;
        var appeal = await server.Appeals.SubmitAppealAsync(new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = userId, Statement = "Satire." });
        await server.Appeals.DecideAppealAsync(new DecideAppealRequest
        {
            AppealId = appeal.AppealId, ReviewerId = "rev-1", Decision = AppealDecision.Overturn, Rationale = "Satire, no target.",
        });
        await server.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
        await server.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { NewUserId() } });
        await AssertFails(StatusCode.InvalidArgument, () => server.Scoring.GetScoreAsync(new GetScoreRequest { UserId = "not a user id" }).ResponseAsync);

        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{server.MetricsPort}/metrics", TestContext.Current.CancellationToken);
    }

    /// <summary>Each series name in Prometheus text, with every label name it carries on any of its samples.</summary>
    private static Dictionary<string, HashSet<string>> Parse(string scrape)
    {
        var series = new Dictionary<string, HashSet<string>>();
        foreach (var line in scrape.Split('\n').Where(l => l.Length > 0 && l[0] != '#'))
        {
            var sample = Sample().Match(line);
            Assert.True(sample.Success, line);
            var labels = series.TryGetValue(sample.Groups["name"].Value, out var known) ? known : series[sample.Groups["name"].Value] = [];
            labels.UnionWith(LabelName().Matches(sample.Groups["labels"].Value).Select(m => m.Groups[1].Value));
        }

        return series;
    }

    /// <summary>
    /// The series names a PromQL query reads, each selector's (name, label) pairs, and its grouping labels
    /// (by, without, on, ignoring, group_left/right). Enough PromQL for the queries we write.
    /// </summary>
    private static (HashSet<string> Names, List<(string Name, string Label)> Selectors, HashSet<string> Grouping) Analyse(string query)
    {
        var selectors = Selector().Matches(query)
            .SelectMany(s => Matcher().Matches(s.Groups["matchers"].Value).Select(m => (s.Groups["name"].Value, m.Groups[1].Value)))
            .ToList();
        var grouping = Grouping().Matches(query)
            .SelectMany(g => g.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet();

        // Without strings, matchers, ranges and grouping clauses, the identifiers left are series names,
        // functions (followed by a parenthesis) and keywords.
        var bare = Grouping().Replace(Range().Replace(Matchers().Replace(Strings().Replace(query, "\"\""), "{}"), "[]"), " ");
        var names = Identifier().Matches(bare)
            .Where(m => !Keywords.Contains(m.Value) && !bare[(m.Index + m.Length)..].TrimStart().StartsWith('('))
            .Select(m => m.Value)
            .ToHashSet();
        return (names, selectors, grouping);
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+\S+(\s+\S+)?$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?:^|,)([a-zA-Z_][a-zA-Z0-9_]*)=""")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{(?<matchers>(?:[^}""]|""(?:[^""\\]|\\.)*"")*)\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*""")]
    private static partial Regex Matcher();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Range();

    [GeneratedRegex(@"[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$")]
    private static partial Regex LabelValues();
}
