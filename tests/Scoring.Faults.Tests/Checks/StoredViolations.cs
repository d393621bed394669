using Npgsql;

namespace Scoring.Faults.Tests.Checks;

/// <summary>What PostgreSQL holds, read directly (not through the service under test).</summary>
public sealed class StoredViolations(string connectionString)
{
    /// <summary>Status 1 is ACTIVE and severity 4 CRITICAL (the stored enum values, which match the contract's).</summary>
    private const int Active = 1;
    private const int Critical = 4;

    /// <summary>Every stored violation of one source: (event id, user id, violation id), duplicates included.</summary>
    public async Task<IReadOnlyList<(string EventId, string UserId, string ViolationId)>> OfSourceAsync(string source)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT event_id, user_id, id FROM violations WHERE source = @source", connection);
        command.Parameters.AddWithValue("source", source);
        var rows = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    /// <summary>Stored violations whose source is none of <paramref name="sources"/>: (source, event id), at most 10.</summary>
    public async Task<IReadOnlyList<(string Source, string EventId)>> OutsideSourcesAsync(IReadOnlyCollection<string> sources)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT source, event_id FROM violations WHERE NOT (source = ANY(@sources)) LIMIT 10", connection);
        command.Parameters.AddWithValue("sources", sources.ToArray());
        var rows = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    /// <summary>Every stored violation id of each user, whatever its source or status.</summary>
    public Task<Dictionary<string, HashSet<string>>> AllOfAsync(IReadOnlyCollection<string> userIds) =>
        IdsByUserAsync("SELECT user_id, id FROM violations WHERE user_id = ANY(@users)", userIds, _ => { });

    /// <summary>
    /// The ids of each user's violations that count at <paramref name="at"/>, by the service's rule
    /// (ScoreStateQueries.CountingAt): active, and no older than max_age unless a CRITICAL one in a
    /// zero-tolerance category. Users without any are present with an empty set.
    /// </summary>
    public Task<Dictionary<string, HashSet<string>>> CountingAsync(
        IReadOnlyCollection<string> userIds, DateTimeOffset at, TimeSpan maxAge, IReadOnlyCollection<string> zeroToleranceCategories) =>
        IdsByUserAsync(
            """
            SELECT user_id, id FROM violations
            WHERE user_id = ANY(@users) AND status = @active
              AND (occurred_at >= @oldest OR (severity = @critical AND category = ANY(@zero_tolerance)))
            """,
            userIds,
            parameters =>
            {
                parameters.AddWithValue("active", Active);
                parameters.AddWithValue("oldest", at - maxAge);
                parameters.AddWithValue("critical", Critical);
                parameters.AddWithValue("zero_tolerance", zeroToleranceCategories.ToArray());
            });

    private async Task<Dictionary<string, HashSet<string>>> IdsByUserAsync(
        string sql, IReadOnlyCollection<string> userIds, Action<NpgsqlParameterCollection> bind)
    {
        var byUser = userIds.Distinct().ToDictionary(u => u, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("users", userIds.ToArray());
        bind(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            byUser[reader.GetString(0)].Add(reader.GetString(1));
        }

        return byUser;
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }
}
