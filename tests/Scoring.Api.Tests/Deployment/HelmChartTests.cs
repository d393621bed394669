using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Domain.Policies;
using StackExchange.Redis;
using YamlDotNet.RepresentationModel;

namespace Scoring.Api.Tests.Deployment;

/// <summary>
/// The chart, linted and rendered by helm with default and production-like values; the fields that keep
/// the service safe and operable are asserted on the rendered manifests.
/// </summary>
public sealed class HelmChartTests
{
    private static readonly string Chart = Repository.File("helm", "scoring");
    private static readonly string ProductionValues = Repository.File("helm", "scoring", "ci", "production-values.yaml");

    [Fact]
    public async Task The_chart_lints_with_default_and_production_values()
    {
        var plain = await HelmAsync("lint", Chart, "--strict");
        var production = await HelmAsync("lint", Chart, "--strict", "-f", ProductionValues);

        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(0, production.ExitCode);
    }

    [Fact]
    public async Task The_schema_refuses_invalid_values()
    {
        var result = await HelmAsync("template", "scoring", Chart, "--set", "shutdown.drainSeconds=0", "--set", "auth.mode=Basic");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("drainSeconds", result.Output, StringComparison.Ordinal);
        Assert.Contains("auth/mode", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_deployment_has_grpc_probes_a_hardened_context_and_secrets_by_reference()
    {
        var manifests = await RenderAsync();
        var deployment = Single(manifests, "Deployment");
        var pod = deployment["spec"]["template"]["spec"];
        var container = pod["containers"][0];

        Assert.Equal("liveness", container["livenessProbe"]["grpc"]["service"].Text());
        Assert.Equal("readiness", container["readinessProbe"]["grpc"]["service"].Text());
        Assert.Equal("5080", container["readinessProbe"]["grpc"]["port"].Text());

        Assert.Equal("true", pod["securityContext"]["runAsNonRoot"].Text());
        Assert.Equal("RuntimeDefault", pod["securityContext"]["seccompProfile"]["type"].Text());
        Assert.Equal("true", container["securityContext"]["readOnlyRootFilesystem"].Text());
        Assert.Equal("false", container["securityContext"]["allowPrivilegeEscalation"].Text());
        Assert.Equal("ALL", container["securityContext"]["capabilities"]["drop"][0].Text());

        var env = Env(container);
        Assert.Equal(("scoring-database", "connection-string"), SecretRef(env["ConnectionStrings__Scoring"]));
        Assert.Equal(("scoring-redis", "connection-string"), SecretRef(env["ConnectionStrings__Redis"]));
        Assert.Equal(("scoring-auth", "signing-key"), SecretRef(env["Auth__SigningKey"]));
        Assert.Equal("false", env["Database__MigrateOnStartup"]["value"].Text());
        Assert.DoesNotContain(env.Values, e => e.Has("value") && e["value"].Text().Contains("Password", StringComparison.OrdinalIgnoreCase));

        // Grace covers the pre-stop pause and the drain the service is told about.
        Assert.Equal("0:00:20", env["Hosting__DrainTime"]["value"].Text());
        Assert.Equal("30", pod["terminationGracePeriodSeconds"].Text());
        Assert.Equal("5", container["lifecycle"]["preStop"]["sleep"]["seconds"].Text());
        Assert.Equal("kubernetes.io/hostname", pod["topologySpreadConstraints"][0]["topologyKey"].Text());
        Assert.True(container["resources"].Has("limits") && container["resources"].Has("requests"));
    }

    [Fact]
    public async Task The_service_declares_h2c_for_grpc_and_a_separate_metrics_port()
    {
        var service = Single(await RenderAsync(), "Service");
        var ports = ((YamlSequenceNode)service["spec"]["ports"]).Children.ToDictionary(p => p["name"].Text());

        Assert.Equal("kubernetes.io/h2c", ports["grpc"]["appProtocol"].Text());
        Assert.Equal("9464", ports["metrics"]["port"].Text());
        Assert.Equal("ClusterIP", service["spec"]["type"].Text());
    }

    [Fact]
    public async Task The_HTTP_JSON_port_is_declared_configured_and_can_be_turned_off()
    {
        var manifests = await RenderAsync("--set", "http.corsOrigins[0]=https://dash.example.org");
        var ports = ((YamlSequenceNode)Single(manifests, "Service")["spec"]["ports"]).Children.ToDictionary(p => p["name"].Text());
        var env = Env(Single(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]);
        var off = await RenderAsync("--set", "http.enabled=false");
        var offPorts = ((YamlSequenceNode)Single(off, "Service")["spec"]["ports"]).Children.Select(p => p["name"].Text());
        var offEnv = Env(Single(off, "Deployment")["spec"]["template"]["spec"]["containers"][0]);

        Assert.Equal("5081", ports["http"]["port"].Text());
        Assert.Equal("http", ports["http"]["appProtocol"].Text());
        Assert.Equal("5081", env["Hosting__HttpPort"]["value"].Text());
        Assert.Equal("https://dash.example.org", env["Http__CorsOrigins__0"]["value"].Text());
        Assert.DoesNotContain("http", offPorts);
        Assert.Equal("0", offEnv["Hosting__HttpPort"]["value"].Text());
    }

    [Fact]
    public async Task Migrations_run_once_per_release_as_a_hook_job()
    {
        var job = Single(await RenderAsync(), "Job");
        var annotations = job["metadata"]["annotations"];
        var container = job["spec"]["template"]["spec"]["containers"][0];

        Assert.Equal("pre-install,pre-upgrade", annotations["helm.sh/hook"].Text());
        Assert.Contains("before-hook-creation", annotations["helm.sh/hook-delete-policy"].Text(), StringComparison.Ordinal);
        Assert.Equal("migrate", container["args"][0].Text());
        Assert.Equal(("scoring-database", "connection-string"), SecretRef(Env(container)["ConnectionStrings__Scoring"]));
    }

    [Fact]
    public async Task The_default_policy_config_map_is_the_services_default_policy()
    {
        var configMap = Single(await RenderAsync(), "ConfigMap");

        var policy = PolicyFile.Parse(configMap["data"]["policy.json"].Text(), "chart");

        Assert.Equal(PolicyFile.Serialize(ScoringPolicy.Default), PolicyFile.Serialize(policy));
    }

    [Fact]
    public async Task With_an_authority_and_no_issuer_the_issuer_is_left_to_the_discovery_document()
    {
        var oidc = Env(Single(await RenderAsync("--set", "auth.authority=https://login.example.com/realms/platform"), "Deployment")
            ["spec"]["template"]["spec"]["containers"][0]);
        var sharedKey = Env(Single(await RenderAsync(), "Deployment")["spec"]["template"]["spec"]["containers"][0]);

        Assert.False(oidc.ContainsKey("Auth__Issuer"), "a default issuer would refuse every token the authority issues");
        Assert.Equal("scoring", sharedKey["Auth__Issuer"]["value"].Text());
    }

    [Fact]
    public async Task Production_values_render_oidc_network_policy_monitoring_and_a_valid_policy()
    {
        var manifests = await RenderAsync("-f", ProductionValues);
        var container = Single(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0];
        var env = Env(container);

        Assert.Equal("https://login.example.com/realms/platform", env["Auth__Authority"]["value"].Text());
        Assert.False(env.ContainsKey("Auth__SigningKey"));
        Assert.Equal(("scoring-postgres", "password"), SecretRef(env["PGPASSWORD"]));
        Assert.Equal("registry.example.com/trust-safety/scoring:1.4.2", container["image"].Text());
        Assert.Equal("0:00:45", env["Hosting__DrainTime"]["value"].Text());
        Assert.Equal("60", Single(manifests, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].Text());

        Assert.Contains(manifests, m => Kind(m) == "Service" && m["spec"].Has("clusterIP") && m["spec"]["clusterIP"].Text() == "None");
        Assert.Equal("metrics", Single(manifests, "ServiceMonitor")["spec"]["endpoints"][0]["port"].Text());
        Assert.Equal("monitoring", Single(manifests, "NetworkPolicy")["spec"]["ingress"][1]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].Text());

        var policy = PolicyFile.Parse(Assert.Single(manifests, m => m["metadata"]["name"].Text() == "scoring-policy")["data"]["policy.json"].Text(), "production values");
        Assert.Equal(("platform-2027-01", TimeSpan.FromDays(2)), (policy.Version, policy.ReviewSla));
        Assert.Equal("prometheus", Single(manifests, "PrometheusRule")["metadata"]["labels"]["release"].Text());
        Assert.Equal("Trust & Safety", DashboardConfigMap(manifests)["metadata"]["annotations"]["grafana_folder"].Text());
    }

    [Fact]
    public async Task Production_values_reach_the_primary_through_PgBouncer_and_every_Redis_Cluster_node_with_passwords_only_from_secrets()
    {
        var manifests = await RenderAsync("-f", ProductionValues);
        var deployment = Single(manifests, "Deployment");
        var variables = ((YamlSequenceNode)deployment["spec"]["template"]["spec"]["containers"][0]["env"]).Children.Select(e => e["name"].Text()).ToList();
        var env = Env(deployment["spec"]["template"]["spec"]["containers"][0]);

        // What Npgsql reads: the pooler, nothing prepared or reset, no password in the string.
        var database = new NpgsqlConnectionStringBuilder(env["ConnectionStrings__Scoring"]["value"].Text());
        Assert.Equal("scoring-pgbouncer.db.svc:6432", database.Host);
        Assert.Equal((0, true), (database.MaxAutoPrepare, database.NoResetOnClose));
        Assert.Equal(("scoring", "scoring"), (database.Database, database.Username));
        Assert.Null(database.Password);
        // Npgsql takes the password from PGPASSWORD when the string has none.
        Assert.Equal(("scoring-postgres", "password"), SecretRef(env["PGPASSWORD"]));
        // A cache write waits for the Redis Cluster replica; miss reads leave connections to the writes.
        Assert.Equal(("1", "8"), (env["Cache__WriteReplicas"]["value"].Text(), env["Cache__FallbackReads"]["value"].Text()));

        // What StackExchange.Redis reads: every node of the cluster; the password is a reference that
        // Kubernetes fills from the variable defined before it, never a value in the manifest.
        var redis = ConfigurationOptions.Parse(env["ConnectionStrings__Redis"]["value"].Text());
        Assert.Equal(
            [.. Enumerable.Range(0, 6).Select(i => $"scoring-redis-{i}.scoring-redis.cache.svc:6379")],
            redis.EndPoints.Cast<System.Net.DnsEndPoint>().Select(e => $"{e.Host}:{e.Port}"));
        Assert.True(redis.Ssl);
        Assert.Equal("$(SCORING_REDIS_PASSWORD)", redis.Password);
        Assert.Equal(("scoring-redis-cluster", "password"), SecretRef(env["SCORING_REDIS_PASSWORD"]));
        Assert.True(variables.IndexOf("SCORING_REDIS_PASSWORD") < variables.IndexOf("ConnectionStrings__Redis"), "Kubernetes expands only variables defined earlier");

        // The migration Job reaches the same primary, and gets nothing of Redis.
        var job = Env(Single(manifests, "Job")["spec"]["template"]["spec"]["containers"][0]);
        Assert.Equal(env["ConnectionStrings__Scoring"]["value"].Text(), job["ConnectionStrings__Scoring"]["value"].Text());
        Assert.Equal(("scoring-postgres", "password"), SecretRef(job["PGPASSWORD"]));
        Assert.DoesNotContain(job.Keys, name => name.Contains("REDIS", StringComparison.OrdinalIgnoreCase) || name.Contains("Redis", StringComparison.Ordinal));

        Assert.Equal("10%", Single(manifests, "PodDisruptionBudget")["spec"]["maxUnavailable"].Text());
        Assert.Equal("60", Single(manifests, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"].Text());
    }

    [Fact]
    public async Task Listing_the_Patroni_members_makes_the_service_follow_the_primary()
    {
        var env = Env(Single(await RenderAsync("--set", "database.hosts[0]=pg-0.db.svc:5432", "--set", "database.hosts[1]=pg-1.db.svc:5432"), "Deployment")
            ["spec"]["template"]["spec"]["containers"][0]);

        var database = new NpgsqlConnectionStringBuilder(env["ConnectionStrings__Scoring"]["value"].Text());
        Assert.Equal("pg-0.db.svc:5432,pg-1.db.svc:5432", database.Host);
        Assert.Equal("read-write", database.TargetSessionAttributes);
    }

    [Fact]
    public async Task Through_PgBouncer_nothing_is_prepared_or_reset_and_the_service_keeps_those_settings_as_given()
    {
        var env = Env(Single(await RenderAsync("--set", "database.hosts[0]=pgbouncer.db.svc:6432", "--set", "database.hosts[1]=pgbouncer-b.db.svc:6432", "--set", "database.pgbouncer=true"), "Deployment")
            ["spec"]["template"]["spec"]["containers"][0]);
        var rendered = env["ConnectionStrings__Scoring"]["value"].Text();

        var pooled = new NpgsqlConnectionStringBuilder(rendered);
        Assert.Equal((0, true), (pooled.MaxAutoPrepare, pooled.NoResetOnClose));
        // PgBouncer, not the client, follows the primary: no read-write probe through the pooler.
        Assert.DoesNotContain("Target Session Attributes", rendered, StringComparison.OrdinalIgnoreCase);

        // The service leaves a connection string that sets auto-prepare alone (ScoringDatabase).
        var options = new DbContextOptionsBuilder().UseScoringDatabase(DatabaseProvider.Postgres, rendered).Options;
        var used = new NpgsqlConnectionStringBuilder(RelationalOptionsExtension.Extract(options).ConnectionString);
        Assert.Equal((0, true, null), (used.MaxAutoPrepare, used.NoResetOnClose, used.Options));
    }

    [Theory]
    [InlineData("database.options=Password=hunter2", "/database/options")]
    [InlineData("database.options=SSL Mode=Require;PWD=hunter2", "/database/options")]
    [InlineData("redis.options=password=hunter2", "/redis/options")]
    [InlineData("database.hosts[0]=pg-0", "/database/hosts/0")]
    [InlineData("redis.endpoints[0]=redis-0;6379", "/redis/endpoints/0")]
    public async Task The_schema_refuses_a_password_among_the_options_and_an_endpoint_without_a_port(string setting, string expected)
    {
        var result = await HelmAsync("template", "scoring", Chart, "--set", setting);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_audit_key_and_the_rotated_out_keys_come_from_a_secret_and_only_the_replicas_get_them()
    {
        var defaults = await RenderAsync();
        var production = await RenderAsync("-f", ProductionValues);

        var env = Env(Single(defaults, "Deployment")["spec"]["template"]["spec"]["containers"][0]);
        Assert.Equal(("scoring-audit", "chain-key"), SecretRef(env["Audit__ChainKey"]));
        Assert.DoesNotContain(env.Keys, name => name.StartsWith("Audit__PreviousKeys__", StringComparison.Ordinal));

        var productionEnv = Env(Single(production, "Deployment")["spec"]["template"]["spec"]["containers"][0]);
        Assert.Equal(("scoring-audit-chain", "chain-key-2027"), SecretRef(productionEnv["Audit__ChainKey"]));
        Assert.Equal(("scoring-audit-chain", "chain-key-2026"), SecretRef(productionEnv["Audit__PreviousKeys__3f9c0a1b2c3d4e5f"]));

        Assert.DoesNotContain(Env(Single(production, "Job")["spec"]["template"]["spec"]["containers"][0]).Keys,
            name => name.StartsWith("Audit__", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("audit.existingSecret=", "audit.chainKeyKey=chain-key", "/audit/existingSecret")]
    [InlineData("audit.previousKeys[0].id=not-a-key-id", "audit.previousKeys[0].secretKey=old", "/audit/previousKeys/0/id")]
    public async Task The_schema_refuses_a_missing_audit_secret_or_a_malformed_previous_key_id(string setting, string other, string expected)
    {
        var result = await HelmAsync("template", "scoring", Chart, "--set", setting, "--set", other);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_console_is_off_by_default_and_no_console_setting_is_rendered()
    {
        var env = Env(Single(await RenderAsync(), "Deployment")["spec"]["template"]["spec"]["containers"][0]);

        Assert.DoesNotContain(env.Keys, name => name.StartsWith("Console__", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_console_settings_render_under_the_services_keys_and_the_client_secret_comes_from_a_secret()
    {
        var manifests = await RenderAsync(
            "--set", "auth.authority=https://login.example.com/realms/platform",
            "--set", "console.clientId=scoring-console", "--set", "console.existingSecret=scoring-console-oidc",
            "--set", "console.scopes={openid,email}",
            "--set", "console.rationaleTemplates[0]=Upheld: the report stands.", "--set", "console.rationaleTemplates[1]=Overturned",
            "--set", "console.sessionLifetime=04:00:00", "--set", "console.maxSessionLifetime=10:00:00");
        var env = Env(Single(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]);

        Assert.Equal("scoring-console", env["Console__ClientId"]["value"].Text());
        Assert.Equal("true", env["ASPNETCORE_FORWARDEDHEADERS_ENABLED"]["value"].Text());
        Assert.Equal(("scoring-console-oidc", "client-secret"), SecretRef(env["Console__ClientSecret"]));
        Assert.False(env["Console__ClientSecret"].Has("value"), "a client secret is never a plain value");
        Assert.Equal(("openid", "email"), (env["Console__Scopes__0"]["value"].Text(), env["Console__Scopes__1"]["value"].Text()));
        Assert.Equal("Upheld: the report stands.", env["Console__RationaleTemplates__0"]["value"].Text());
        Assert.Equal("Overturned", env["Console__RationaleTemplates__1"]["value"].Text());
        Assert.Equal("04:00:00", env["Console__SessionLifetime"]["value"].Text());
        Assert.Equal("10:00:00", env["Console__MaxSessionLifetime"]["value"].Text());
        Assert.Equal(8, env.Keys.Count(name => name.StartsWith("Console__", StringComparison.Ordinal)));
        // Only the replicas serve the console.
        Assert.DoesNotContain(Env(Single(manifests, "Job")["spec"]["template"]["spec"]["containers"][0]).Keys,
            name => name.StartsWith("Console__", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_public_console_client_gets_no_secret_and_the_service_defaults_stand()
    {
        var env = Env(Single(await RenderAsync("--set", "auth.authority=https://login.example.com/realms/platform", "--set", "console.clientId=scoring-console"), "Deployment")
            ["spec"]["template"]["spec"]["containers"][0]);

        Assert.Equal(["Console__ClientId"], env.Keys.Where(name => name.StartsWith("Console__", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("auth.authority=", "http.enabled=true", "console.clientId needs auth.authority")]
    [InlineData("auth.authority=https://login.example.com/realms/platform", "http.enabled=false", "console.clientId needs http.enabled")]
    public async Task Under_jwt_a_console_client_without_an_authority_or_the_HTTP_port_is_refused_at_render(string authority, string http, string expected)
    {
        var result = await HelmAsync("template", "scoring", Chart, "--set", "console.clientId=scoring-console", "--set", authority, "--set", http);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("console.scopes=openid", "/console/scopes")]
    [InlineData("console.rationaleTemplates[0]= ", "/console/rationaleTemplates/0")]
    [InlineData("console.sessionLifetime=8h", "/console/sessionLifetime")]
    [InlineData("console.clientSecret=plain-text", "clientSecret")]
    public async Task The_schema_refuses_malformed_console_settings_and_a_plain_client_secret(string setting, string expected)
    {
        var result = await HelmAsync("template", "scoring", Chart, "--set", setting);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_network_policy_admits_the_HTTP_port_from_the_peers_named()
    {
        var production = Single(await RenderAsync("-f", ProductionValues), "NetworkPolicy");
        var defaults = Single(await RenderAsync("--set", "networkPolicy.enabled=true"), "NetworkPolicy");
        var off = Single(await RenderAsync("--set", "networkPolicy.enabled=true", "--set", "http.enabled=false"), "NetworkPolicy");

        var http = HttpRule(production)!;
        Assert.Equal("ingress-nginx", http["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].Text());
        Assert.True(((YamlMappingNode)HttpRule(defaults)!["from"][0]["podSelector"]).Children.Count == 0, "empty httpFrom: the namespace's pods");
        Assert.Null(HttpRule(off));

        static YamlNode? HttpRule(YamlMappingNode policy) => ((YamlSequenceNode)policy["spec"]["ingress"]).Children
            .SingleOrDefault(rule => rule["ports"][0]["port"].Text() == "http");
    }

    [Fact]
    public async Task The_dashboard_and_the_alerts_are_off_by_default()
    {
        var manifests = await RenderAsync();

        Assert.DoesNotContain(manifests, m => Kind(m) == "PrometheusRule");
        Assert.Equal(["scoring-policy"], manifests.Where(m => Kind(m) == "ConfigMap").Select(m => m["metadata"]["name"].Text()));
    }

    [Fact]
    public async Task The_dashboard_is_a_config_map_labelled_for_the_grafana_sidecar_holding_the_charts_dashboard_file()
    {
        var defaults = DashboardConfigMap(await RenderAsync("--set", "grafana.dashboard.enabled=true"));
        var custom = DashboardConfigMap(await RenderAsync(
            "--set", "grafana.dashboard.enabled=true", "--set", "grafana.dashboard.label=dashboards.example.org/scoring",
            "--set", "grafana.dashboard.labelValue=yes", "--set", "grafana.dashboard.folder=Trust & Safety"));

        Assert.Equal("1", defaults["metadata"]["labels"]["grafana_dashboard"].Text());
        Assert.False(defaults["metadata"].Has("annotations"));
        Assert.Equal("yes", custom["metadata"]["labels"]["dashboards.example.org/scoring"].Text());
        Assert.Equal("Trust & Safety", custom["metadata"]["annotations"]["grafana_folder"].Text());

        var json = Assert.Single(((YamlMappingNode)defaults["data"]).Children).Value.Text();
        Assert.Equal(File.ReadAllText(Repository.File("helm", "scoring", "files", "grafana-dashboard.json")).TrimEnd(), json.TrimEnd());
        using var dashboard = System.Text.Json.JsonDocument.Parse(json);
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.Equal(
            ["Request rate by route", "Error ratio", "Latency p50 / p99", "Violations recorded by category (per minute)",
             "Appeals submitted and decided (per hour)", "Open and overdue appeals", "Time to decision", "Write queue depth vs capacity",
             "Cache repairs pending", "Cache available", "Cache hit ratio", "Standing changes reaching each standing (per minute)",
             "Standing changes by cause (per minute)", "Feed lag"],
            panels.Select(p => p.GetProperty("title").GetString()));
        // Every query goes to the data source the dashboard's variable picks, for the service its job variable picks.
        Assert.All(panels.SelectMany(p => p.GetProperty("targets").EnumerateArray()), target =>
        {
            Assert.Equal("${datasource}", target.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.Contains("job=\"$job\"", target.GetProperty("expr").GetString(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task The_alerts_watch_this_release_and_each_has_a_severity_a_summary_and_a_description()
    {
        var rule = Single(await RenderAsync("--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=prometheus"), "PrometheusRule");
        var alerts = ((YamlSequenceNode)rule["spec"]["groups"][0]["rules"]).Children.ToDictionary(r => r["alert"].Text());

        Assert.Equal("monitoring.coreos.com/v1", rule["apiVersion"].Text());
        Assert.Equal("prometheus", rule["metadata"]["labels"]["release"].Text());
        Assert.Equal(
            new Dictionary<string, (string For, string Severity)>
            {
                ["ScoringAppealsOverdue"] = ("30m", "warning"),
                ["ScoringHighErrorRatio"] = ("10m", "critical"),
                ["ScoringWriteQueueNearlyFull"] = ("5m", "warning"),
                ["ScoringCacheRepairsPending"] = ("15m", "warning"),
                ["ScoringCacheUnavailable"] = ("5m", "warning"),
                ["ScoringStandingFeedLagging"] = ("5m", "warning"),
            },
            alerts.ToDictionary(a => a.Key, a => (a.Value["for"].Text(), a.Value["labels"]["severity"].Text())));
        Assert.All(alerts.Values, alert =>
        {
            Assert.NotEmpty(alert["annotations"]["summary"].Text());
            Assert.NotEmpty(alert["annotations"]["description"].Text());
        });

        // The series of this release's ServiceMonitor: job is the Service's name.
        const string Release = "job=\"scoring\", namespace=\"default\"";
        Assert.Equal($"max(scoring_appeals_overdue{{{Release}}}) > 0", Expr("ScoringAppealsOverdue"));
        Assert.Equal($"max by (instance) (scoring_write_queue_depth{{{Release}}} / scoring_write_queue_capacity{{{Release}}}) > 0.8", Expr("ScoringWriteQueueNearlyFull"));
        Assert.Equal($"max(scoring_cache_repairs_pending{{{Release}}}) > 0", Expr("ScoringCacheRepairsPending"));
        Assert.Equal($"min by (instance) (scoring_cache_available{{{Release}}}) == 0", Expr("ScoringCacheUnavailable"));
        Assert.Equal($"max by (instance) (scoring_feed_lag_seconds{{{Release}}}) > 60", Expr("ScoringStandingFeedLagging"));

        // Server-side failures of either protocol over the calls made (probes and scrapes left out).
        var errors = Expr("ScoringHighErrorRatio");
        Assert.EndsWith("> 0.05", errors, StringComparison.Ordinal);
        Assert.Contains($"{Release}, http_response_status_code=~\"5..\"", errors, StringComparison.Ordinal);
        Assert.Contains($"{Release}, rpc_grpc_status_code=~\"2|13|14|15\"", errors, StringComparison.Ordinal);
        Assert.Contains($"{Release}, http_route!~\"/metrics|/grpc.health.v1.Health/.*\"", errors, StringComparison.Ordinal);

        string Expr(string alert) => alerts[alert]["expr"].Text().Trim();
    }

    [Theory]
    [InlineData("grafana.dashboard.labelValue=not a label value", "/grafana/dashboard/labelValue")]
    [InlineData("grafana.dashboard.title=Scoring", "title")]
    [InlineData("prometheusRule.interval=1m", "interval")]
    public async Task The_schema_refuses_a_bad_dashboard_label_and_unknown_monitoring_settings(string setting, string expected)
    {
        var result = await HelmAsync("template", "scoring", Chart, "--set", setting);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Output, StringComparison.Ordinal);
    }

    private static YamlMappingNode DashboardConfigMap(IReadOnlyList<YamlMappingNode> manifests) =>
        Assert.Single(manifests, m => Kind(m) == "ConfigMap" && m["metadata"]["name"].Text() == "scoring-dashboard");

    private static string Kind(YamlMappingNode manifest) => manifest["kind"].Text();

    private static YamlMappingNode Single(IReadOnlyList<YamlMappingNode> manifests, string kind) =>
        Assert.Single(manifests, m => Kind(m) == kind && !(kind == "Service" && m["spec"].Has("clusterIP")));

    private static Dictionary<string, YamlNode> Env(YamlNode container) =>
        ((YamlSequenceNode)container["env"]).Children.ToDictionary(e => e["name"].Text());

    private static (string Name, string Key) SecretRef(YamlNode variable) =>
        (variable["valueFrom"]["secretKeyRef"]["name"].Text(), variable["valueFrom"]["secretKeyRef"]["key"].Text());

    /// <summary>The chart rendered by helm with these extra arguments, one node per manifest.</summary>
    internal static async Task<IReadOnlyList<YamlMappingNode>> RenderAsync(params string[] extra)
    {
        var result = await HelmAsync(["template", "scoring", Chart, .. extra]);
        Assert.True(result.ExitCode == 0, result.Output);

        var stream = new YamlStream();
        stream.Load(new StringReader(result.Output));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    private static async Task<(int ExitCode, string Output)> HelmAsync(params string[] arguments)
    {
        var helm = Environment.GetEnvironmentVariable("SCORING_HELM") is { Length: > 0 } configured ? configured : "helm";
        var info = new ProcessStartInfo(helm) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("helm was not found: run tests/run.sh, which fetches it, or set SCORING_HELM.");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}

internal static class YamlNodes
{
    public static string Text(this YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    public static bool Has(this YamlNode node, string key) => node is YamlMappingNode map && map.Children.ContainsKey(key);
}
