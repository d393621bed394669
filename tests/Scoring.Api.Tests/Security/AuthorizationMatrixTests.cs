using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Security;

/// <summary>
/// Every RPC the service offers, called as every kind of caller. The expected policy of each RPC is
/// listed here: an RPC added without a line below, or mapped without a policy, fails this test.
/// </summary>
public sealed class AuthorizationMatrixTests(JwtBackend backend) : IClassFixture<JwtBackend>
{
    private const string Read = "read";
    private const string Write = "write";
    private const string Review = "review";
    private const string Admin = "admin";
    private const string Reports = "reports";

    /// <summary>Which roles each policy admits (issue 4's role table).</summary>
    private static readonly Dictionary<string, string[]> Admits = new()
    {
        [Read] = ["scoring.reader", "scoring.writer", "scoring.reviewer", "scoring.admin"],
        [Write] = ["scoring.writer", "scoring.admin"],
        [Review] = ["scoring.reviewer", "scoring.admin"],
        [Admin] = ["scoring.admin"],
        // Issue 14: auditors run reports and nothing else.
        [Reports] = ["scoring.auditor", "scoring.admin"],
    };

    private static readonly Dictionary<string, string> PolicyOf = new()
    {
        ["scoring.v1.ConductScoring/RecordViolation"] = Write,
        ["scoring.v1.ConductScoring/RecordViolations"] = Write,
        ["scoring.v1.ConductScoring/GetScore"] = Read,
        ["scoring.v1.ConductScoring/GetScores"] = Read,
        ["scoring.v1.ConductScoring/GetPolicy"] = Read,
        ["scoring.v1.ConductScoring/ListViolations"] = Review,
        ["scoring.v1.Appeals/SubmitAppeal"] = Write,
        ["scoring.v1.Appeals/WithdrawAppeal"] = Write,
        ["scoring.v1.Appeals/GetAppeal"] = Review,
        ["scoring.v1.Appeals/ListAppeals"] = Review,
        ["scoring.v1.Appeals/AssignAppeal"] = Review,
        ["scoring.v1.Appeals/DecideAppeal"] = Review,
        ["scoring.v1.Audit/ListAuditEntries"] = Review,
        ["scoring.v1.Audit/VerifyAuditChain"] = Admin,
        ["scoring.v1.Privacy/ExportUserData"] = Admin,
        ["scoring.v1.Privacy/EraseUser"] = Admin,
        ["scoring.v1.Policies/CreatePolicyDraft"] = Admin,
        ["scoring.v1.Policies/UpdatePolicyDraft"] = Admin,
        ["scoring.v1.Policies/PublishPolicyDraft"] = Admin,
        ["scoring.v1.Policies/GetPolicyVersion"] = Read,
        ["scoring.v1.Policies/ListPolicyVersions"] = Read,
        // Simulations name users (samples for review): administrators only.
        ["scoring.v1.Policies/StartPolicySimulation"] = Admin,
        ["scoring.v1.Policies/GetPolicySimulation"] = Admin,
        ["scoring.v1.Policies/ListPolicySimulations"] = Admin,
        ["scoring.v1.Policies/CancelPolicySimulation"] = Admin,
        ["scoring.v1.Policies/ActivatePolicy"] = Admin,
        ["scoring.v1.Reports/GetTransparencyReport"] = Reports,
        ["scoring.v1.Reports/ExportStatementsOfReasons"] = Reports,
    };

    private static readonly string[] Callers =
        ["anonymous", "bad-signature", "expired", "scoring.reader", "scoring.writer", "scoring.reviewer", "scoring.admin", "scoring.auditor", "no-role"];

    private static IEnumerable<MethodDescriptor> ServedMethods() =>
        new[] { V1.ConductScoringReflection.Descriptor, V1.AppealsReflection.Descriptor, V1.AuditReflection.Descriptor, V1.PrivacyReflection.Descriptor, V1.PoliciesReflection.Descriptor, V1.ReportsReflection.Descriptor }
            .SelectMany(file => file.Services)
            .SelectMany(service => service.Methods);

    public static TheoryData<string, string> Calls()
    {
        var data = new TheoryData<string, string>();
        foreach (var method in ServedMethods())
        {
            foreach (var caller in Callers)
            {
                data.Add($"{method.Service.FullName}/{method.Name}", caller);
            }
        }

        return data;
    }

    [Fact]
    public void Every_served_rpc_has_an_expected_policy()
    {
        var served = ServedMethods().Select(m => $"{m.Service.FullName}/{m.Name}").Order().ToList();

        Assert.Equal(PolicyOf.Keys.Order(), served);
    }

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Each_rpc_admits_exactly_its_roles(string fullMethod, string caller)
    {
        var method = ServedMethods().Single(m => $"{m.Service.FullName}/{m.Name}" == fullMethod);
        var policy = Assert.Contains(fullMethod, PolicyOf);
        var now = backend.App.Time.GetUtcNow();
        const string subject = "caller-1";
        const string clientId = "svc.caller";

        var token = caller switch
        {
            "anonymous" => null,
            "bad-signature" => Tokens.Create(subject, ["scoring.admin"], clientId, signingKey: "another-key-another-key-another-key-0123", serviceNow: now),
            "expired" => Tokens.Create(subject, ["scoring.admin"], clientId, expired: true, serviceNow: now),
            "no-role" => Tokens.Create(subject, [], clientId, serviceNow: now),
            _ => Tokens.Create(subject, [caller], clientId, serviceNow: now),
        };

        // Claims that must match the caller are filled in, so an admitted call gets past identity binding.
        var request = method.InputType.Parser.ParseFrom(ByteString.Empty);
        method.InputType.FindFieldByName("source")?.Accessor.SetValue(request, clientId);
        method.InputType.FindFieldByName("reviewer_id")?.Accessor.SetValue(request, subject);

        var status = await CallAsync(method, request, token);

        if (caller is "anonymous" or "bad-signature" or "expired")
        {
            Assert.Equal(StatusCode.Unauthenticated, status);
        }
        else if (Admits[policy].Contains(caller))
        {
            Assert.NotEqual(StatusCode.Unauthenticated, status);
            Assert.NotEqual(StatusCode.PermissionDenied, status);
        }
        else
        {
            Assert.Equal(StatusCode.PermissionDenied, status);
        }
    }

    private async Task<StatusCode> CallAsync(MethodDescriptor method, IMessage request, string? token)
    {
        var call = new Method<IMessage, IMessage>(
            method.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary,
            method.Service.FullName,
            method.Name,
            Marshallers.Create<IMessage>(m => m.ToByteArray(), bytes => method.InputType.Parser.ParseFrom(bytes)),
            Marshallers.Create<IMessage>(m => m.ToByteArray(), bytes => method.OutputType.Parser.ParseFrom(bytes)));
        var options = new CallOptions(headers: token is null ? null : Tokens.Bearer(token));
        try
        {
            var invoker = backend.App.Channel.CreateCallInvoker();
            if (method.IsServerStreaming)
            {
                using var stream = invoker.AsyncServerStreamingCall(call, null, options, request);
                while (await stream.ResponseStream.MoveNext(TestContext.Current.CancellationToken))
                {
                }
            }
            else
            {
                await invoker.AsyncUnaryCall(call, null, options, request);
            }

            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
