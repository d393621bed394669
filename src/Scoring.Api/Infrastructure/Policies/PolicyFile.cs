using System.Text.Json;
using System.Text.Json.Serialization;
using Scoring.Domain.Policies;

namespace Scoring.Api.Infrastructure.Policies;

/// <summary>
/// Reads a scoring policy from JSON. Durations use the invariant TimeSpan format ("14.00:00:00").
/// Any problem stops start-up with a message that names it.
/// </summary>
public static class PolicyFile
{
    public static ScoringPolicy Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidPolicyException($"Scoring:PolicyFile '{path}' cannot be read: {e.Message}");
        }

        try
        {
            return Parse(json, path);
        }
        catch (InvalidPolicyException e)
        {
            throw new InvalidPolicyException($"Scoring:PolicyFile: {e.Message}");
        }
    }

    public static ScoringPolicy Parse(string json, string origin)
    {
        var policy = Read(json, origin);
        var problems = policy.Validate();
        return problems.Count == 0
            ? policy
            : throw new InvalidPolicyException($"Policy '{origin}' is invalid: {string.Join("; ", problems)}.");
    }

    /// <summary>The policy a JSON document holds, not checked against the rules (a stored version is read as it was written).</summary>
    public static ScoringPolicy Read(string json, string origin)
    {
        ScoringPolicy? policy;
        try
        {
            policy = JsonSerializer.Deserialize(json, PolicyJsonContext.Default.ScoringPolicy);
        }
        catch (JsonException e)
        {
            throw new InvalidPolicyException($"Policy '{origin}' is not valid JSON for a policy: {e.Message}");
        }

        return policy ?? throw new InvalidPolicyException($"Policy '{origin}' is empty.");
    }

    public static string Serialize(ScoringPolicy policy) =>
        JsonSerializer.Serialize(policy, PolicyJsonContext.Default.ScoringPolicy);
}

public sealed class InvalidPolicyException(string message) : Exception(message);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectRequiredConstructorParameters = true,
    WriteIndented = true)]
[JsonSerializable(typeof(ScoringPolicy))]
internal sealed partial class PolicyJsonContext : JsonSerializerContext;
