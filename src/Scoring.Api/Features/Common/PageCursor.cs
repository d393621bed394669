using System.Buffers.Text;
using System.Globalization;
using System.Text;

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
                || !long.TryParse(text.AsSpan(0, bar), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var position))
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
