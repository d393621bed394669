using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Api;
using Google.Protobuf.Reflection;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Http;

/// <summary>
/// The HTTP/JSON API over real HTTP/1.1: an <see cref="HttpClient"/> against the service run as its own
/// process on the embedded default, every route, its errors, CORS and the OpenAPI document.
/// </summary>
public sealed class HttpApiTests(HttpBackend backend) : IClassFixture<HttpBackend>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private HttpClient Http => backend.Anonymous;

    /// <summary>Every method of every scoring.v1 service, with its route from the protos.</summary>
    public static TheoryData<string, string> Routes()
    {
        var data = new TheoryData<string, string>();
        foreach (var (method, rule) in HttpRules())
        {
            data.Add(method, rule.PatternCase.ToString().ToUpperInvariant() + " " + Path(rule));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public void Every_rpc_has_a_resource_style_route_reads_as_GET_changes_as_POST(string method, string route)
    {
        // GetScores reads too, but takes up to 1000 ids: a POST body, as Google's batchGet methods do.
        string[] reads =
        [
            "GetScore", "ListViolations", "GetPolicy", "GetAppeal", "ListAppeals", "ListAuditEntries", "VerifyAuditChain", "ExportUserData",
            "ListStandingChanges", "WatchStandingChanges", "GetStandingCounts", "GetPolicyVersion", "ListPolicyVersions", "GetPolicySimulation", "ListPolicySimulations",
        ];
        var (verb, path) = (route.Split(' ')[0], route.Split(' ')[1]);

        Assert.Equal(reads.Contains(method.Split('/')[1]) ? "GET" : "POST", verb);
        Assert.Matches("^/v1/[a-z-]+(/\\{[a-z_]+\\}(/[a-z-]+)?)?(:[a-zA-Z]+)?$", path);
    }

    [Fact]
    public async Task A_violation_recorded_over_HTTP_is_scored_listed_and_batch_read()
    {
        var user = Requests.NewUserId();

        using var recorded = await Http.PostAsJsonAsync("/v1/violations", new
        {
            source = "http.test",
            eventId = "e-" + user,
            userId = user,
            category = "fraud",
            severity = "SEVERITY_HIGH",
            note = "Fake shop",
        }, Token);
        var violation = await JsonAsync(recorded);
        var score = await GetJsonAsync($"/v1/users/{user}/score?include_breakdown=true");
        var violations = await GetJsonAsync($"/v1/users/{user}/violations?page_size=10");
        using var batch = await Http.PostAsJsonAsync("/v1/scores:batchGet", new { userIds = new[] { user, "nobody-" + user } }, Token);
        var scores = await JsonAsync(batch);
        var policy = await GetJsonAsync("/v1/policy");

        Assert.Equal(HttpStatusCode.OK, recorded.StatusCode);
        Assert.Equal("fraud", violation["violation"]!["category"]!.GetValue<string>());
        Assert.False(violation["duplicate"]!.GetValue<bool>());
        Assert.Equal("STANDING_RESTRICTED", score["standing"]!.GetValue<string>());
        Assert.Single(score["breakdown"]!.AsArray());
        Assert.Equal(violation["violation"]!["violationId"]!.GetValue<string>(), violations["violations"]![0]!["violationId"]!.GetValue<string>());
        Assert.Equal(["STANDING_RESTRICTED", "STANDING_GOOD"], scores["scores"]!.AsArray().Select(s => s!["standing"]!.GetValue<string>()));
        // Zero values are written, so a dashboard reads 0 rather than a missing field.
        Assert.Equal(0, scores["scores"]![1]!["points"]!.GetValue<double>());
        Assert.False(string.IsNullOrEmpty(policy["version"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_batch_records_each_item_on_its_own()
    {
        var user = Requests.NewUserId();

        using var response = await Http.PostAsJsonAsync("/v1/violations:batchRecord", new
        {
            violations = new object[]
            {
                new { source = "http.test", eventId = "b1-" + user, userId = user, category = "spam", severity = "SEVERITY_LOW" },
                new { source = "http.test", eventId = "b2-" + user, userId = user, category = "jaywalking", severity = "SEVERITY_LOW" },
            },
        }, Token);
        var results = (await JsonAsync(response))["results"]!.AsArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, results.Count);
        Assert.NotNull(results[0]!["violation"]);
        Assert.Equal((int)Google.Rpc.Code.InvalidArgument, results[1]!["error"]!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_appeal_is_submitted_listed_assigned_decided_and_audited_over_HTTP()
    {
        var user = Requests.NewUserId();
        var violationId = await RecordAsync(user, "harassment", "SEVERITY_MEDIUM");

        using var submitted = await Http.PostAsJsonAsync("/v1/appeals", new { violationId, userId = user, statement = "Not me" }, Token);
        var appealId = (await JsonAsync(submitted))["appealId"]!.GetValue<string>();
        var one = await GetJsonAsync($"/v1/appeals/{appealId}");
        var listed = await GetJsonAsync($"/v1/appeals?user_id={user}&states=APPEAL_STATE_SUBMITTED");
        using var assigned = await Http.PostAsJsonAsync($"/v1/appeals/{appealId}:assign", new { reviewerId = "rev-1" }, Token);
        var before = await GetJsonAsync($"/v1/users/{user}/score");
        using var decided = await Http.PostAsJsonAsync($"/v1/appeals/{appealId}:decide", new
        {
            reviewerId = "rev-1",
            decision = "APPEAL_DECISION_REDUCE",
            newSeverity = "SEVERITY_LOW",
            rationale = "Context shows a joke",
        }, Token);
        var decision = await JsonAsync(decided);
        var entries = await GetJsonAsync($"/v1/users/{user}/audit-entries");
        var byTarget = await GetJsonAsync($"/v1/audit-entries?target_id={violationId}");
        var chain = await GetJsonAsync($"/v1/users/{user}/audit-chain:verify");

        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        Assert.Equal("APPEAL_STATE_SUBMITTED", one["state"]!.GetValue<string>());
        Assert.Equal(appealId, listed["appeals"]![0]!["appealId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, assigned.StatusCode);
        Assert.Equal("APPEAL_DECISION_REDUCE", decision["appeal"]!["decision"]!.GetValue<string>());
        Assert.True(decision["score"]!["points"]!.GetValue<double>() < before["points"]!.GetValue<double>());
        Assert.Equal(
            ["violation.recorded", "appeal.submitted", "appeal.assigned", "appeal.decided"],
            entries["entries"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()));
        Assert.Contains(byTarget["entries"]!.AsArray(), e => e!["action"]!.GetValue<string>() == "appeal.decided");
        Assert.True(chain["valid"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_user_withdraws_an_appeal_over_HTTP()
    {
        var user = Requests.NewUserId();
        var violationId = await RecordAsync(user, "spam", "SEVERITY_LOW");
        using var submitted = await Http.PostAsJsonAsync("/v1/appeals", new { violationId, userId = user, statement = "Wrong account" }, Token);
        var appealId = (await JsonAsync(submitted))["appealId"]!.GetValue<string>();

        using var withdrawn = await Http.PostAsJsonAsync($"/v1/appeals/{appealId}:withdraw", new { userId = user }, Token);

        Assert.Equal("APPEAL_STATE_WITHDRAWN", (await JsonAsync(withdrawn))["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_users_data_is_exported_then_erased_over_HTTP()
    {
        var user = Requests.NewUserId();
        await RecordAsync(user, "spam", "SEVERITY_LOW");

        var export = await GetJsonAsync($"/v1/users/{user}:export");
        using var erased = await Http.PostAsJsonAsync($"/v1/users/{user}:erase", new { reason = "gdpr_art17_request" }, Token);
        var erasure = await JsonAsync(erased);
        var after = await GetJsonAsync($"/v1/users/{user}/score");

        Assert.Single(export["violations"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        Assert.Equal(1, erasure["violationsErased"]!.GetValue<int>());
        Assert.Equal("STANDING_GOOD", after["standing"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_feed_is_listed_and_watched_as_newline_delimited_JSON_over_HTTP()
    {
        using var watch = await Http.GetAsync("/v1/standing-changes:watch", HttpCompletionOption.ResponseHeadersRead, Token);
        using var lines = new StreamReader(await watch.Content.ReadAsStreamAsync(Token));
        var bookmark = JsonNode.Parse((await lines.ReadLineAsync(Token))!)!;
        var user = Requests.NewUserId();
        await RecordAsync(user, "harassment", "SEVERITY_HIGH");
        JsonNode change;
        do
        {
            change = JsonNode.Parse((await lines.ReadLineAsync(Token).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Token))!)!;
        }
        while (change["change"]?["userId"]?.GetValue<string>() != user);

        using var listed = await Http.PostAsJsonAsync("/v1/standing-changes:list", new { userIds = new[] { user } }, Token);
        var page = await JsonAsync(listed);
        var counts = await GetJsonAsync("/v1/standing-counts");
        using var stale = await Http.GetAsync("/v1/standing-changes?since_revision=7fffffffffffffff0000000000000000", Token);

        Assert.Equal("application/json; charset=utf-8", watch.Content.Headers.ContentType?.ToString());
        Assert.NotNull(bookmark["bookmark"]!["revision"]);
        Assert.Equal("STANDING_RESTRICTED", change["change"]!["standing"]!.GetValue<string>());
        Assert.Equal("STANDING_CHANGE_CAUSE_VIOLATION_RECORDED", change["change"]!["cause"]!.GetValue<string>());
        Assert.Equal(change["change"]!["revision"]!.GetValue<string>(), page["changes"]![0]!["revision"]!.GetValue<string>());
        Assert.True(counts["usersByStanding"]!["STANDING_RESTRICTED"]!.GetValue<long>() >= 1);
        Assert.Equal(HttpStatusCode.BadRequest, stale.StatusCode);
        Assert.Equal((int)Google.Rpc.Code.OutOfRange, (await JsonAsync(stale))["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_client_mistake_is_400_with_the_status_and_the_offending_field()
    {
        using var response = await Http.PostAsJsonAsync("/v1/violations", new
        {
            source = "http.test", eventId = "bad-1", userId = "u 1", category = "spam", severity = "SEVERITY_LOW",
        }, Token);
        var status = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal((int)Google.Rpc.Code.InvalidArgument, status["code"]!.GetValue<int>());
        var violations = status["details"]!.AsArray()
            .Where(d => d!["@type"]!.GetValue<string>() == "type.googleapis.com/google.rpc.BadRequest")
            .SelectMany(d => d!["fieldViolations"]!.AsArray())
            .Select(v => v!["field"]!.GetValue<string>());
        Assert.Contains("user_id", violations);
    }

    [Theory]
    [InlineData("GET", "/v1/appeals/00000000-0000-0000-0000-000000000000", null, HttpStatusCode.NotFound, Google.Rpc.Code.NotFound)]
    [InlineData("POST", "/v1/scores:batchGet", "{\"userIds\": 7}", HttpStatusCode.BadRequest, Google.Rpc.Code.InvalidArgument)]
    [InlineData("POST", "/v1/violations", "not json", HttpStatusCode.BadRequest, Google.Rpc.Code.InvalidArgument)]
    public async Task Errors_have_the_matching_HTTP_status_and_a_google_rpc_Status_body(string verb, string path, string? body, HttpStatusCode expected, Google.Rpc.Code code)
    {
        using var request = new HttpRequestMessage(new HttpMethod(verb), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request, Token);
        var status = await JsonAsync(response);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal((int)code, status["code"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(status["message"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_refused_workflow_step_is_412_and_a_conflicting_record_409()
    {
        var user = Requests.NewUserId();
        var violationId = await RecordAsync(user, "spam", "SEVERITY_LOW");
        using var first = await Http.PostAsJsonAsync("/v1/appeals", new { violationId, userId = user, statement = "One" }, Token);
        var appealId = (await JsonAsync(first))["appealId"]!.GetValue<string>();
        using var withdrawn = await Http.PostAsJsonAsync($"/v1/appeals/{appealId}:withdraw", new { userId = user }, Token);

        using var again = await Http.PostAsJsonAsync($"/v1/appeals/{appealId}:withdraw", new { userId = user }, Token);
        var status = await JsonAsync(again);
        using var conflicting = await Http.PostAsJsonAsync("/v1/violations", new
        {
            source = "http.test", eventId = "e-" + violationId, userId = user, category = "spam", severity = "SEVERITY_LOW",
        }, Token);
        using var changed = await Http.PostAsJsonAsync("/v1/violations", new
        {
            source = "http.test", eventId = "e-" + violationId, userId = user, category = "spam", severity = "SEVERITY_HIGH",
        }, Token);

        Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, again.StatusCode);
        Assert.Equal((int)Google.Rpc.Code.FailedPrecondition, status["code"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, conflicting.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, changed.StatusCode);
        Assert.Equal((int)Google.Rpc.Code.AlreadyExists, (await JsonAsync(changed))["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_HTTP_port_speaks_HTTP_1_1_and_the_gRPC_port_keeps_gRPC()
    {
        using var response = await Http.GetAsync("/v1/policy", Token);
        var grpc = await backend.AnonymousServer.Scoring.GetPolicyAsync(new V1.GetPolicyRequest(), cancellationToken: Token);

        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(grpc.Version, (await JsonAsync(response))["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_every_route_with_its_schemas()
    {
        var document = await GetJsonAsync("/openapi/v1.json");

        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();
        foreach (var (method, rule) in HttpRules())
        {
            // The document names path parameters by their JSON names ({user_id} is {userId}).
            var path = System.Text.RegularExpressions.Regex.Replace(Path(rule), "_([a-z])", m => m.Groups[1].Value.ToUpperInvariant());
            Assert.True(paths.ContainsKey(path), $"{method}: {path} is not in the document");
            Assert.NotNull(paths[path]![rule.PatternCase.ToString().ToLowerInvariant()]);
        }

        var schemas = document["components"]!["schemas"]!.AsObject();
        Assert.True(schemas.ContainsKey("UserScore") || schemas.Any(s => s.Key.EndsWith("UserScore", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_OpenAPI_document_needs_no_token_where_every_call_does()
    {
        using var document = await backend.Jwt.GetAsync("/openapi/v1.json", Token);
        using var call = await backend.Jwt.GetAsync("/v1/policy", Token);

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.StartsWith("3.", (await JsonAsync(document))["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, call.StatusCode);
    }

    [Fact]
    public async Task A_browser_on_an_allowed_origin_may_call_and_others_may_not()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/violations");
        preflight.Headers.Add("Origin", HttpBackend.AllowedOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        using var allowed = await Http.SendAsync(preflight, Token);

        using var read = new HttpRequestMessage(HttpMethod.Get, "/v1/policy");
        read.Headers.Add("Origin", HttpBackend.AllowedOrigin);
        using var readAllowed = await Http.SendAsync(read, Token);

        using var stranger = new HttpRequestMessage(HttpMethod.Get, "/v1/policy");
        stranger.Headers.Add("Origin", "https://elsewhere.example");
        using var readStranger = await Http.SendAsync(stranger, Token);

        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(HttpBackend.AllowedOrigin, allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", allowed.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpBackend.AllowedOrigin, readAllowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(readStranger.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Without_a_token_the_answer_is_401_with_the_reason_and_a_challenge()
    {
        using var response = await backend.Jwt.GetAsync($"/v1/users/{Requests.NewUserId()}/score", Token);
        var status = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal((int)Google.Rpc.Code.Unauthenticated, status["code"]!.GetValue<int>());
        Assert.Equal("missing token", status["message"]!.GetValue<string>());
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.Single().ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_token_is_401_token_expired()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/policy");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Create("dash", ["scoring.reader"], expired: true));

        using var response = await backend.Jwt.SendAsync(request, Token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("token expired", (await JsonAsync(response))["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reader_may_read_but_writing_is_403_missing_role()
    {
        var token = Tokens.Create("dash", ["scoring.reader"]);
        using var read = new HttpRequestMessage(HttpMethod.Get, "/v1/policy");
        read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var write = new HttpRequestMessage(HttpMethod.Post, "/v1/violations")
        {
            Content = JsonContent.Create(new { source = "http.test", eventId = "r-1", userId = "u-1", category = "spam", severity = "SEVERITY_LOW" }),
        };
        write.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var readResponse = await backend.Jwt.SendAsync(read, Token);
        using var writeResponse = await backend.Jwt.SendAsync(write, Token);
        var status = await JsonAsync(writeResponse);

        Assert.Equal(HttpStatusCode.OK, readResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, writeResponse.StatusCode);
        Assert.Equal((int)Google.Rpc.Code.PermissionDenied, status["code"]!.GetValue<int>());
        Assert.StartsWith("missing role", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reviewer_is_bound_to_their_own_id_over_HTTP_too()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/appeals/00000000-0000-0000-0000-000000000000:assign")
        {
            Content = JsonContent.Create(new { reviewerId = "someone-else" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Create("rev-7", ["scoring.reviewer"]));

        using var response = await backend.Jwt.SendAsync(request, Token);
        var status = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("reviewer_id", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_the_rate_limit_the_answer_is_429_with_Retry_After()
    {
        var token = Tokens.Create("ops", ["scoring.admin"], clientId: "ops-" + Guid.NewGuid().ToString("N"));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < HttpBackend.AdminBurst + 1; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/policy");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var response = await backend.Jwt.SendAsync(request, Token);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
                break;
            }

            response.Dispose();
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal(HttpBackend.AdminBurst, statuses.Count(s => s == HttpStatusCode.OK));
            Assert.Equal((int)Google.Rpc.Code.ResourceExhausted, (await JsonAsync(refused))["code"]!.GetValue<int>());
            Assert.True(refused.Headers.RetryAfter is not null);
        }
    }

    private async Task<string> RecordAsync(string user, string category, string severity)
    {
        using var response = await Http.PostAsJsonAsync("/v1/violations", new
        {
            source = "http.test", eventId = Guid.NewGuid().ToString("N"), userId = user, category, severity,
        }, Token);
        return (await JsonAsync(response))["violation"]!["violationId"]!.GetValue<string>();
    }

    private async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path, Token);
        var json = await JsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {json.ToJsonString()}");
        return json;
    }

    private static async Task<JsonNode> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Token);
        try
        {
            return JsonNode.Parse(text)!;
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"{(int)response.StatusCode}: not JSON: {text}");
        }
    }

    private static IEnumerable<(string Method, HttpRule Rule)> HttpRules()
    {
        FileDescriptor[] files =
        [
            V1.ConductScoringReflection.Descriptor, V1.AppealsReflection.Descriptor, V1.AuditReflection.Descriptor, V1.PrivacyReflection.Descriptor,
            V1.StandingsReflection.Descriptor, V1.PoliciesReflection.Descriptor,
        ];
        foreach (var method in files.SelectMany(f => f.Services).SelectMany(s => s.Methods))
        {
            var rule = method.GetOptions()?.GetExtension(AnnotationsExtensions.Http);
            Assert.True(rule is not null, $"{method.FullName} has no google.api.http route");
            yield return ($"{method.Service.Name}/{method.Name}", rule);
        }
    }

    private static string Path(HttpRule rule) => rule.PatternCase switch
    {
        HttpRule.PatternOneofCase.Get => rule.Get,
        HttpRule.PatternOneofCase.Post => rule.Post,
        _ => throw new Xunit.Sdk.XunitException($"unexpected verb {rule.PatternCase}"),
    };
}

/// <summary>
/// Two service processes with the HTTP/JSON port on: one without authentication (and a browser origin
/// allowed), one checking JWTs with a small admin rate limit.
/// </summary>
public sealed class HttpBackend : IAsyncLifetime
{
    public const string AllowedOrigin = "https://dash.scoring.test";
    public const int AdminBurst = 3;

    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-http-").FullName;

    public ServerProcess AnonymousServer { get; private set; } = null!;

    public ServerProcess JwtServer { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    public HttpClient Jwt { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var common = new Dictionary<string, string>
        {
            ["Database__Provider"] = "Sqlite",
            ["RateLimit__Anonymous__PermitsPerSecond"] = "100000",
            ["RateLimit__Anonymous__Burst"] = "100000",
        };
        var starting = new[]
        {
            ServerProcess.StartAsync(new Dictionary<string, string>(common)
            {
                ["ConnectionStrings__Scoring"] = $"Data Source={System.IO.Path.Combine(_directory, "anonymous.db")}",
                ["Auth__Mode"] = "None",
                ["Auth__AllowAnonymous"] = "true",
                ["Http__CorsOrigins__0"] = AllowedOrigin,
            }),
            ServerProcess.StartAsync(new Dictionary<string, string>(common)
            {
                ["ConnectionStrings__Scoring"] = $"Data Source={System.IO.Path.Combine(_directory, "jwt.db")}",
                ["Auth__Mode"] = "Jwt",
                ["Auth__SigningKey"] = Tokens.SigningKey,
                ["Auth__Issuer"] = Tokens.Issuer,
                ["Auth__Audience"] = Tokens.Audience,
                ["RateLimit__Admin__PermitsPerSecond"] = "0",
                ["RateLimit__Admin__Burst"] = AdminBurst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }),
        };
        var servers = await Task.WhenAll(starting);
        (AnonymousServer, JwtServer) = (servers[0], servers[1]);
        Anonymous = new HttpClient { BaseAddress = AnonymousServer.HttpAddress };
        Jwt = new HttpClient { BaseAddress = JwtServer.HttpAddress };
    }

    public ValueTask DisposeAsync()
    {
        Anonymous?.Dispose();
        Jwt?.Dispose();
        AnonymousServer?.Dispose();
        JwtServer?.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
