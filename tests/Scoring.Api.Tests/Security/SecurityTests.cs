using Grpc.Core;
using Microsoft.Extensions.Logging;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Security;

/// <summary>Identity binding, rate limits, input bounds and the start-up rules of authentication.</summary>
public sealed class SecurityTests(JwtBackend backend) : IClassFixture<JwtBackend>
{
    private ScoringApp App => backend.App;

    private Metadata As(string subject, string role, string? clientId = null) =>
        Tokens.Bearer(Tokens.Create(subject, [role], clientId, serviceNow: App.Time.GetUtcNow()));

    [Fact]
    public async Task A_writer_may_report_only_as_its_own_source()
    {
        var writer = As("svc-reports", "scoring.writer", clientId: "svc.reports");

        var own = await App.Scoring.RecordViolationAsync(Violation(NewUserId(), source: "svc.reports"), writer);
        var forged = await AssertFails(StatusCode.PermissionDenied,
            () => App.Scoring.RecordViolationAsync(Violation(NewUserId(), source: "svc.other"), writer).ResponseAsync);

        Assert.False(own.Duplicate);
        Assert.Contains("svc.other", forged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_item_in_a_batch_is_refused_on_its_own()
    {
        var writer = As("svc-reports", "scoring.writer", clientId: "svc.reports");
        var batch = new RecordViolationsRequest { Violations = { Violation(NewUserId(), source: "svc.reports"), Violation(NewUserId(), source: "svc.other") } };

        var response = await App.Scoring.RecordViolationsAsync(batch, writer);

        Assert.NotNull(response.Results[0].Violation);
        Assert.Equal((int)Google.Rpc.Code.PermissionDenied, response.Results[1].Error.Code);
    }

    [Fact]
    public async Task A_reviewer_acts_only_under_their_own_id_and_the_audit_names_the_caller()
    {
        var writer = As("svc-reports", "scoring.writer", clientId: "svc.reports");
        var request = Violation(NewUserId(), source: "svc.reports");
        request.DecidedBy = "mod-7";
        var violation = (await App.Scoring.RecordViolationAsync(request, writer)).Violation;
        var appeal = await App.Appeals.SubmitAppealAsync(
            new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = violation.UserId, Statement = "Not me." }, writer);
        var reviewer = As("rev-1", "scoring.reviewer", clientId: "console");

        await AssertFails(StatusCode.PermissionDenied, () => App.Appeals.AssignAppealAsync(
            new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-2" }, reviewer).ResponseAsync);
        await AssertFails(StatusCode.PermissionDenied, () => App.Appeals.DecideAppealAsync(
            new DecideAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-2", Decision = AppealDecision.Uphold, Rationale = "ok" }, reviewer).ResponseAsync);
        await App.Appeals.DecideAppealAsync(
            new DecideAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1", Decision = AppealDecision.Uphold, Rationale = "ok" }, reviewer);

        var entries = (await App.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = violation.UserId }, reviewer)).Entries;
        Assert.Equal(["svc.reports", "svc.reports", "rev-1"], entries.Select(e => e.Actor));
    }

    [Theory]
    [InlineData("missing", "missing token")]
    [InlineData("expired", "token expired")]
    [InlineData("bad-signature", "bad signature")]
    [InlineData("wrong-audience", "wrong audience")]
    [InlineData("wrong-issuer", "wrong issuer")]
    public async Task An_unauthenticated_call_says_why_in_the_status_and_the_challenge_and_the_log(string token, string reason)
    {
        var now = App.Time.GetUtcNow();
        var jwt = token switch
        {
            "missing" => null,
            "expired" => Tokens.Create("dash-1", ["scoring.reader"], expired: true, serviceNow: now),
            "bad-signature" => Tokens.Create("dash-1", ["scoring.reader"], signingKey: "another-key-another-key-another-key-0123", serviceNow: now),
            "wrong-audience" => Tokens.Create("dash-1", ["scoring.reader"], serviceNow: now, audience: "someone-else"),
            _ => Tokens.Create("dash-1", ["scoring.reader"], serviceNow: now, issuer: "https://elsewhere.test"),
        };

        var refused = await Assert.ThrowsAsync<RpcException>(
            () => App.Scoring.GetPolicyAsync(new GetPolicyRequest(), jwt is null ? null : Tokens.Bearer(jwt)).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal(reason, refused.Status.Detail);
        Assert.Contains($"error_description=\"{reason}\"", refused.Trailers.GetValue("www-authenticate"), StringComparison.Ordinal);
        var logged = Assert.Single(App.Logs.Entries, e => e.Message == $"Refused /scoring.v1.ConductScoring/GetPolicy: UNAUTHENTICATED, {reason}");
        Assert.Equal(LogLevel.Information, logged.Level);
        Assert.DoesNotContain(App.Logs.Entries, e => jwt is not null && e.Message.Contains(jwt.Split('.')[2], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_call_without_the_role_says_which_role_is_missing()
    {
        var reader = As("dash-1", "scoring.reader");

        var refused = await Assert.ThrowsAsync<RpcException>(
            () => App.Privacy.EraseUserAsync(new EraseUserRequest { UserId = NewUserId(), Reason = "gdpr" }, reader).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal("missing role scoring.admin", refused.Status.Detail);
        Assert.Equal(
            "Bearer error=\"insufficient_scope\", error_description=\"missing role scoring.admin\", scope=\"scoring.admin\"",
            refused.Trailers.GetValue("www-authenticate"));
        Assert.Contains(App.Logs.Entries, e => e.Level == LogLevel.Information
            && e.Message == "Refused /scoring.v1.Privacy/EraseUser: PERMISSION_DENIED, missing role scoring.admin");
    }

    [Fact]
    public async Task A_caller_over_its_rate_gets_resource_exhausted_and_others_are_unaffected()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-rate-").FullName;
        using var app = new ScoringApp(Tokens.JwtSettings(new()
        {
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
            ["RateLimit:Reader:PermitsPerSecond"] = "0",
            ["RateLimit:Reader:Burst"] = "2",
        }));
        var greedy = Tokens.Bearer(Tokens.Create("dash-1", ["scoring.reader"], "dashboard.a", serviceNow: app.Time.GetUtcNow()));
        var other = Tokens.Bearer(Tokens.Create("dash-2", ["scoring.reader"], "dashboard.b", serviceNow: app.Time.GetUtcNow()));
        var request = new GetScoreRequest { UserId = NewUserId() };

        await app.Scoring.GetScoreAsync(request, greedy);
        await app.Scoring.GetScoreAsync(request, greedy);
        var status = await AssertFails(StatusCode.ResourceExhausted, () => app.Scoring.GetScoreAsync(request, greedy).ResponseAsync);

        Assert.Contains("Rate limit", status.Message, StringComparison.Ordinal);
        Assert.Equal(Standing.Good, (await app.Scoring.GetScoreAsync(request, other)).Standing);
        var health = await app.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task A_message_over_one_megabyte_is_refused()
    {
        var writer = As("svc-reports", "scoring.writer", clientId: "svc.reports");
        var batch = new RecordViolationsRequest();
        for (var i = 0; i < 300; i++)
        {
            var item = Violation(NewUserId(), source: "svc.reports");
            item.EvidenceRef = new string('r', 2048);
            item.Note = new string('n', 2000);
            batch.Violations.Add(item);
        }

        Assert.True(batch.CalculateSize() > 1024 * 1024);
        await AssertFails(StatusCode.ResourceExhausted, () => App.Scoring.RecordViolationsAsync(batch, writer).ResponseAsync);
    }

    private static async Task<IReadOnlyList<string>> ListServicesAsync(global::Grpc.Net.Client.GrpcChannel channel, Metadata? headers = null)
    {
        var reflection = new global::Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo(headers);
        await call.RequestStream.WriteAsync(new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        return [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
    }

    [Fact]
    public async Task Health_answers_without_a_token_and_reflection_does_only_when_Grpc_AnonymousReflection_allows_it()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-reflection-").FullName;
        using var open = new ScoringApp(Tokens.JwtSettings(new()
        {
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
            ["Grpc:AnonymousReflection"] = "true",
        }));

        var health = await App.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = "readiness" });
        // Refused on its headers: read the answer without writing first, or the refusal can end the stream
        // while the request is still being written and the client reports CANCELLED instead.
        await AssertFails(StatusCode.Unauthenticated, async () =>
        {
            using var refused = new global::Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(App.Channel).ServerReflectionInfo();
            try
            {
                // An empty request, so a served call would end at once (and fail this assertion) instead of waiting.
                await refused.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // Already refused: the status is read below.
            }

            await refused.ResponseStream.MoveNext(TestContext.Current.CancellationToken);
        });
        var withToken = await ListServicesAsync(App.Channel, As("dash-1", "scoring.reader"));
        var allowedAnonymous = await ListServicesAsync(open.Channel);

        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Contains("scoring.v1.Privacy", withToken);
        Assert.Contains("scoring.v1.Privacy", allowedAnonymous);
    }

    [Fact]
    public void Outside_Development_the_service_refuses_to_start_without_an_auth_mode()
    {
        using var app = new ScoringApp(new() { ["Auth:Mode"] = null, ["Auth:AllowAnonymous"] = null }, environment: "Production");

        var error = Assert.ThrowsAny<Exception>(() => app.Server);

        Assert.Contains("Auth:Mode must be set", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Anonymous_access_outside_Development_needs_an_explicit_allowance()
    {
        using var app = new ScoringApp(new() { ["Auth:Mode"] = "None", ["Auth:AllowAnonymous"] = "false" }, environment: "Production");

        var error = Assert.ThrowsAny<Exception>(() => app.Server);

        Assert.Contains("Auth:AllowAnonymous=true", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Allowed_anonymous_access_is_warned_about_at_start()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-anon-").FullName;
        using var app = new ScoringApp(new()
        {
            ["Auth:Mode"] = "None",
            ["Auth:AllowAnonymous"] = "true",
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
        }, environment: "Production");

        await app.Scoring.GetPolicyAsync(new GetPolicyRequest());

        Assert.Contains(app.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Authentication is OFF", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Auth:Audience", null, "Auth:Audience")]
    [InlineData("Auth:SigningKey", "too-short", "at least 32 bytes")]
    [InlineData("Auth:Authority", "https://login.example", "exactly one of")]
    public void A_jwt_configuration_missing_a_piece_stops_start_up(string key, string? value, string expected)
    {
        using var app = new ScoringApp(Tokens.JwtSettings(new() { [key] = value }));

        var error = Assert.ThrowsAny<Exception>(() => app.Server);

        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }
}
