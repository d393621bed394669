using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Npgsql;
using Scoring.Domain.Audit;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// On PostgreSQL, writes what a write transaction added or moved in one round trip of a few statements,
/// whatever the number of rows: the new violations, audit entries, report tallies and entries, and feed
/// entries as one <c>INSERT … SELECT FROM unnest(…)</c> each (columns and conversions read from the EF
/// Core model, so they cannot drift from it), the lock rows' audit heads, recorded standings and copies of
/// the counting violations (<see cref="CountingSnapshot"/>) as one
/// <c>UPDATE … FROM unnest(…)</c>, and the standing-drop schedule as one upsert and one delete. EF Core
/// would send one statement per row and track each. What it writes leaves the change tracker;
/// SaveChanges writes the rest.
/// </summary>
public static class PostgresBulkWrites
{
    // What an insert of each entity type needs from the model, read once: the model never changes.
    private static readonly ConcurrentDictionary<IEntityType, InsertPlan> Plans = new();

    public static async Task WriteAddedAsync(this ScoringDbContext db, CancellationToken cancellationToken)
    {
        if (!db.IsPostgres)
        {
            return;
        }

        // One scan of the change tracker (each Entries() call detects changes over every tracked entity).
        var tracked = db.ChangeTracker.Entries().ToList();
        var statements = new List<string>();
        var parameters = new List<NpgsqlParameter>();
        var written = new List<EntityEntry>();
        foreach (var type in (Type[])[typeof(Violation), typeof(AuditEntry), typeof(ReportTally), typeof(StandingChangeEntry), typeof(ReportStandingEntry)])
        {
            var plan = Plans.GetOrAdd(db.Model.FindEntityType(type)!, InsertPlan.For);
            var added = plan.InAddOrder(tracked.Where(e => e.State == EntityState.Added && e.Metadata.ClrType == type));
            if (added.Count > 0)
            {
                statements.Add(plan.Insert(added, parameters));
                written.AddRange(added);
            }
        }

        // Every column a lock row's owner may change (its version only ever changes in the lock statement).
        var heads = tracked.Where(e => e.State == EntityState.Modified && e.Entity is UserScoreVersion).Select(e => (UserScoreVersion)e.Entity).ToList();
        if (heads.Count > 0)
        {
            var users = Parameter(parameters, heads.Select(h => h.UserId).ToArray());
            var sequences = Parameter(parameters, heads.Select(h => h.AuditSequence).ToArray());
            var hashes = Parameter(parameters, heads.Select(h => h.AuditHash).ToArray());
            var times = Parameter(parameters, heads.Select(h => h.AuditAt).ToArray());
            var standings = Parameter(parameters, heads.Select(h => (int)h.Standing).ToArray());
            var drops = Parameter(parameters, heads.Select(h => h.StandingDropsAt).ToArray());
            var counting = Parameter(parameters, heads.Select(h => h.Counting).ToArray());
            statements.Add($"""
                UPDATE user_score_versions AS u
                SET audit_sequence = h.sequence, audit_hash = h.hash, audit_at = h.at, standing = h.standing, standing_drops_at = h.drops_at,
                  counting = h.counting
                FROM unnest({users}::text[], {sequences}::bigint[], {hashes}::text[], {times}::timestamptz[], {standings}::integer[], {drops}::timestamptz[],
                  {counting}::bytea[])
                  AS h(user_id, sequence, hash, at, standing, drops_at, counting)
                WHERE u.user_id = h.user_id
                """);
            written.AddRange(tracked.Where(e => e.State == EntityState.Modified && e.Entity is UserScoreVersion));
        }

        // The drop schedule: one row per user at most, so an upsert covers both a new and a moved drop (more
        // lenient than EF Core on SQLite, which refuses an update of a missing row or an insert of a present one).
        var scheduled = tracked.Where(e => e.Entity is StandingDrop && e.State is EntityState.Added or EntityState.Modified).ToList();
        if (scheduled.Count > 0)
        {
            var drops = scheduled.Select(e => (StandingDrop)e.Entity).ToArray();
            var users = Parameter(parameters, drops.Select(d => d.UserId).ToArray());
            var due = Parameter(parameters, drops.Select(d => d.DueAt).ToArray());
            statements.Add($"""
                INSERT INTO standing_drops (user_id, due_at) SELECT * FROM unnest({users}::text[], {due}::timestamptz[])
                ON CONFLICT (user_id) DO UPDATE SET due_at = excluded.due_at
                """);
            written.AddRange(scheduled);
        }

        var unscheduled = tracked.Where(e => e.Entity is StandingDrop && e.State == EntityState.Deleted).ToList();
        if (unscheduled.Count > 0)
        {
            var users = Parameter(parameters, unscheduled.Select(e => ((StandingDrop)e.Entity).UserId).ToArray());
            statements.Add($"DELETE FROM standing_drops WHERE user_id = ANY({users}::text[])");
            written.AddRange(unscheduled);
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

    /// <summary>
    /// An entity type's table, and for each column its name, store type, array element type and how to read
    /// it; and the key the database numbers rows by, if it does.
    /// </summary>
    private sealed record InsertPlan(string Table, string Columns, IReadOnlyList<ColumnPlan> Values, IProperty? NumberedBy)
    {
        public static InsertPlan For(IEntityType entityType)
        {
            var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
            var key = entityType.FindPrimaryKey()!.Properties;
            var numberedBy = key is [{ ValueGenerated: ValueGenerated.OnAdd, ClrType: var keyType } single] && keyType == typeof(long) ? single : null;
            var columns = new List<ColumnPlan>();
            foreach (var property in entityType.GetProperties())
            {
                if (property.ValueGenerated == ValueGenerated.OnAdd && (property.IsPrimaryKey() || property.GetDefaultValueSql() is not null))
                {
                    // The database numbers the row (a report tally's id, a feed entry's sequence) or computes the
                    // value (a feed entry's transaction id); nothing reads it back.
                    continue;
                }

                var mapping = property.GetRelationalTypeMapping();
                var converter = mapping.Converter;
                var providerType = converter?.ProviderClrType ?? property.ClrType;
                if (property.IsNullable && providerType.IsValueType && Nullable.GetUnderlyingType(providerType) is null)
                {
                    providerType = typeof(Nullable<>).MakeGenericType(providerType);
                }

                columns.Add(new ColumnPlan(property, property.GetColumnName(table)!, mapping.StoreType, providerType, converter));
            }

            return new InsertPlan(table.Name, string.Join(", ", columns.Select(c => c.Name)), columns, numberedBy);
        }

        /// <summary>
        /// The rows in the order they were added, where the database numbers them (the feed's entries, whose
        /// order within a transaction is the order a consumer sees): the change tracker lists them in no set
        /// order, but gives each a temporary key that grows as they are added.
        /// </summary>
        public List<EntityEntry> InAddOrder(IEnumerable<EntityEntry> rows) => NumberedBy is { } key
            ? [.. rows.OrderBy(row => (long)row.Property(key.Name).CurrentValue!)]
            : [.. rows];

        public string Insert(List<EntityEntry> rows, List<NpgsqlParameter> parameters)
        {
            var arrays = new List<string>(Values.Count);
            foreach (var column in Values)
            {
                var values = Array.CreateInstance(column.ProviderType, rows.Count);
                for (var i = 0; i < rows.Count; i++)
                {
                    values.SetValue(column.Read(rows[i]), i);
                }

                arrays.Add($"{Parameter(parameters, values)}::{column.StoreType}[]");
            }

            // Rows go in in array order, so the database numbers them in that order.
            return $"INSERT INTO {Table} ({Columns}) SELECT {Columns} FROM unnest({string.Join(", ", arrays)}) WITH ORDINALITY AS r({Columns}, n) ORDER BY n";
        }
    }

    private sealed class ColumnPlan(IProperty property, string name, string storeType, Type providerType, ValueConverter? converter)
    {
        private readonly IClrPropertyGetter? _getter = property.IsShadowProperty() ? null : property.GetGetter();

        public string Name => name;

        public string StoreType => storeType;

        public Type ProviderType => providerType;

        public object? Read(EntityEntry row)
        {
            var value = _getter is null ? row.Property(property.Name).CurrentValue : _getter.GetClrValueUsingContainingEntity(row.Entity);
            return value is null || converter is null ? value : converter.ConvertToProvider(value);
        }
    }
}
