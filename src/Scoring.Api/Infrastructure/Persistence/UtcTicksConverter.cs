using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>Stores an instant as UTC ticks (SQLite only).</summary>
public sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
    value => value.UtcTicks,
    ticks => new DateTimeOffset(ticks, TimeSpan.Zero));
