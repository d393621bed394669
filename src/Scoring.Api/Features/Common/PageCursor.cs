using System.Buffers.Text;
using System.Globalization;
using System.Text;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace Scoring.Api.Features.Common;

/// <summary>
/// Where a keyset page ends: an instant or number and an id, as an opaque URL-safe token.
/// Shared by every listing so tokens look and fail alike.
/// </summary>
public readonly record struct PageCursor(long Position, string Id)
{
    public string Encode() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{Position.ToString(CultureInfo.InvariantCulture)}|{Id}"));

    public static bool TryDecode(string? token, out PageCursor cursor)
    {
        cursor = default;
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || bar == text.Length - 1
                || !long.TryParse(text.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var position)
                // Positions are instants (UTC ticks) or sequence numbers: never negative, never past the last instant.
                || position > DateTimeOffset.MaxValue.UtcTicks)
            {
                return false;
            }

            cursor = new PageCursor(position, text[(bar + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Page sizes: 0 means the default, at most the maximum.</summary>
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
}

/// <summary>The paging every listing shares: its validation rules and the one-extra-row page read.</summary>
public static class Paging
{
    /// <summary>0 means the default page size; at most the maximum.</summary>
    public static IRuleBuilderOptions<T, int> PageSize<T>(this IRuleBuilder<T, int> rule) =>
        rule.InclusiveBetween(0, PageCursor.MaxPageSize)
            .WithMessage($"{{PropertyName}} must be between 0 and {PageCursor.MaxPageSize} (0 means {PageCursor.DefaultPageSize})");

    /// <summary>Empty, or a token this service issued.</summary>
    public static IRuleBuilderOptions<T, string?> PageToken<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(token => string.IsNullOrEmpty(token) || PageCursor.TryDecode(token, out _))
            .WithMessage("{PropertyName} is not a token this service issued");

    /// <summary>The cursor a request continues after, if it has one.</summary>
    public static bool TryContinueAfter(string? pageToken, out PageCursor cursor)
    {
        cursor = default;
        return !string.IsNullOrEmpty(pageToken) && PageCursor.TryDecode(pageToken, out cursor);
    }

    /// <summary>
    /// Reads one page of an ordered query. One extra row tells whether another page follows; the next
    /// token points after the page's last item.
    /// </summary>
    public static async Task<(List<T> Items, string? NextPageToken)> ReadPageAsync<T>(
        this IQueryable<T> ordered, int requestedSize, Func<T, PageCursor> cursorOf, CancellationToken cancellationToken)
    {
        var pageSize = requestedSize == 0 ? PageCursor.DefaultPageSize : requestedSize;
        var items = await ordered.Take(pageSize + 1).ToListAsync(cancellationToken);
        if (items.Count <= pageSize)
        {
            return (items, null);
        }

        items.RemoveAt(pageSize);
        return (items, cursorOf(items[^1]).Encode());
    }
}
