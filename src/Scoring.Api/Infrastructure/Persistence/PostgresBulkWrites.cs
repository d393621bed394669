using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;
using Scoring.Domain.Audit;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// On PostgreSQL, writes what a write transaction added or moved in one round trip of three statements,
/// whatever the number of rows: the new violations and audit entries as one <c>INSERT … SELECT FROM
/// unnest(…)</c> each (columns and conversions read from the EF Core model, so they cannot drift from it),
/// and the lock rows' audit heads as one <c>UPDATE … FROM unnest(…)</c>. EF Core would send one statement
/// per row and track each. What it writes leaves the change tracker; SaveChanges writes the rest.
/// </summary>
public static class PostgresBulkWrites
{
    public static async Task WriteAddedAsync(this ScoringDbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsNpgsql())
        {
            return;
        }

        var statements = new List<string>();
        var parameters = new List<NpgsqlParameter>();
        var written = new List<EntityEntry>();
        foreach (var type in (Type[])[typeof(Violation), typeof(AuditEntry)])
        {
            var added = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added && e.Metadata.ClrType == type).ToList();
            if (added.Count > 0)
            {
                statements.Add(Insert(db.Model.FindEntityType(type)!, added, parameters));
                written.AddRange(added);
            }
        }

        var heads = db.ChangeTracker.Entries<UserScoreVersion>().Where(e => e.State == EntityState.Modified).ToList();
        if (heads.Count > 0)
        {
            var users = Parameter(parameters, heads.Select(h => h.Entity.UserId).ToArray());
            var sequences = Parameter(parameters, heads.Select(h => h.Entity.AuditSequence).ToArray());
            var hashes = Parameter(parameters, heads.Select(h => h.Entity.AuditHash).ToArray());
            var times = Parameter(parameters, heads.Select(h => h.Entity.AuditAt).ToArray());
            statements.Add($"""
                UPDATE user_score_versions AS u SET audit_sequence = h.sequence, audit_hash = h.hash, audit_at = h.at
                FROM unnest({users}::text[], {sequences}::bigint[], {hashes}::text[], {times}::timestamptz[]) AS h(user_id, sequence, hash, at)
                WHERE u.user_id = h.user_id
                """);
            written.AddRange(heads);
        }

        if (statements.Count == 0)
        {
            return;
        }

        // One command, so one round trip (Npgsql sends the statements as a batch), through EF Core's
        // pipeline, so its interceptors and logging see it. Only parameter names are spliced in.
        var sql = string.Join(";\n", statements);
        await db.Database.ExecuteSqlRawAsync(sql, parameters, cancellationToken);
        foreach (var entry in written)
        {
            entry.State = EntityState.Detached;
        }
    }

    private static string Parameter(List<NpgsqlParameter> parameters, Array values)
    {
        var name = $"@bulk{parameters.Count}";
        parameters.Add(new NpgsqlParameter(name, values));
        return name;
    }

    private static string Insert(IEntityType entityType, List<EntityEntry> rows, List<NpgsqlParameter> parameters)
    {
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        var properties = entityType.GetProperties().ToList();
        var columns = new List<string>(properties.Count);
        var arrays = new List<string>(properties.Count);
        foreach (var property in properties)
        {
            var mapping = property.GetRelationalTypeMapping();
            var converter = mapping.Converter;
            var providerType = converter?.ProviderClrType ?? property.ClrType;
            if (property.IsNullable && providerType.IsValueType && Nullable.GetUnderlyingType(providerType) is null)
            {
                providerType = typeof(Nullable<>).MakeGenericType(providerType);
            }

            var values = Array.CreateInstance(providerType, rows.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                var value = rows[i].Property(property.Name).CurrentValue;
                values.SetValue(value is null || converter is null ? value : converter.ConvertToProvider(value), i);
            }

            columns.Add(property.GetColumnName(table)!);
            arrays.Add($"{Parameter(parameters, values)}::{mapping.StoreType}[]");
        }

        return $"INSERT INTO {table.Name} ({string.Join(", ", columns)}) SELECT * FROM unnest({string.Join(", ", arrays)})";
    }
}
