using System.Buffers;
using System.Collections;
using System.Collections.Concurrent;
using FluentValidation;
using FluentValidation.Results;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Scoring.Api.Grpc;

/// <summary>
/// The characters no string field of any request may hold, checked once for every message from its
/// protobuf descriptor: C0 controls other than tab, line feed and carriage return, DEL, C1 controls and
/// Unicode noncharacters. PostgreSQL refuses NUL outright and SQLite stores it, so without this the same
/// request would fail on one database and be kept on the other; the other controls are never meant
/// to be in an id or a statement. Lone surrogates need no check here: the protobuf decoder refuses
/// them as invalid UTF-8 before a message exists.
/// </summary>
public static class RequestText
{
    private static readonly SearchValues<char> Suspects = SearchValues.Create(SuspectCharacters().ToArray());
    private static readonly ConcurrentDictionary<MessageDescriptor, FieldDescriptor[]> TextFieldsByMessage = new();

    /// <summary>Throws a <see cref="ValidationException"/> naming every field, by its proto path, that holds a refused character.</summary>
    public static void EnsureClean(IMessage message)
    {
        // The check allocates nothing; only a request that fails it pays for building the paths.
        if (IsClean(message))
        {
            return;
        }

        var failures = new List<ValidationFailure>();
        Collect(message, prefix: "", failures);
        throw new ValidationException(failures);
    }

    /// <summary>The index of the first refused character, or -1. A noncharacter outside the BMP is reported at its high surrogate.</summary>
    public static int IndexOfRefused(ReadOnlySpan<char> text)
    {
        var offset = 0;
        while (true)
        {
            var found = text[offset..].IndexOfAny(Suspects);
            if (found < 0)
            {
                return -1;
            }

            var index = offset + found;
            if (!char.IsLowSurrogate(text[index]))
            {
                return index;
            }

            // U+nFFFE and U+nFFFF end in the low surrogate DFFE or DFFF after a high surrogate whose low six bits are set.
            if (index > 0 && char.IsHighSurrogate(text[index - 1]) && (text[index - 1] & 0x3F) == 0x3F)
            {
                return index - 1;
            }

            offset = index + 1;
        }
    }

    /// <summary>What a refused character is, for the message a client reads.</summary>
    public static string Describe(int codePoint) => codePoint switch
    {
        < 0x20 => "a C0 control character",
        0x7F => "the DEL control character",
        >= 0x80 and <= 0x9F => "a C1 control character",
        _ => "a Unicode noncharacter",
    };

    private static bool IsClean(IMessage message)
    {
        foreach (var field in TextFields(message.Descriptor))
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    if (!IsClean(entry.Key) || !IsClean(entry.Value))
                    {
                        return false;
                    }
                }
            }
            else if (field.IsRepeated)
            {
                var items = (IList)value;
                for (var i = 0; i < items.Count; i++)
                {
                    if (!IsClean(items[i]))
                    {
                        return false;
                    }
                }
            }
            else if (!IsClean(value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsClean(object? value) => value switch
    {
        string text => IndexOfRefused(text) < 0,
        IMessage nested => IsClean(nested),
        _ => true,
    };

    private static void Collect(IMessage message, string prefix, List<ValidationFailure> failures)
    {
        foreach (var field in TextFields(message.Descriptor))
        {
            var path = prefix + field.Name;
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    // A key is named by the map; a value by its key.
                    Collect(entry.Key, path, failures, what: "a key of ");
                    Collect(entry.Value, $"{path}[{entry.Key}]", failures);
                }
            }
            else if (field.IsRepeated)
            {
                var items = (IList)value;
                for (var i = 0; i < items.Count; i++)
                {
                    Collect(items[i], $"{path}[{i}]", failures);
                }
            }
            else
            {
                Collect(value, path, failures);
            }
        }
    }

    private static void Collect(object? value, string path, List<ValidationFailure> failures, string what = "")
    {
        switch (value)
        {
            case string text when IndexOfRefused(text) is var index and >= 0:
                var codePoint = CodePointAt(text, index);
                failures.Add(new ValidationFailure(path,
                    $"{what}{path} contains {Describe(codePoint)} (U+{codePoint:X4}) at index {index}; "
                    + "control characters other than tab, line feed and carriage return, and noncharacters, are not allowed"));
                break;
            case IMessage nested:
                Collect(nested, path + ".", failures);
                break;
        }
    }

    private static int CodePointAt(string text, int index) =>
        char.IsHighSurrogate(text[index]) && index + 1 < text.Length ? char.ConvertToUtf32(text[index], text[index + 1]) : text[index];

    /// <summary>The fields of a message that hold text, directly or in a nested message; computed once per message type.</summary>
    private static FieldDescriptor[] TextFields(MessageDescriptor descriptor) =>
        TextFieldsByMessage.GetOrAdd(descriptor, static d =>
            [.. d.Fields.InFieldNumberOrder().Where(f => f.FieldType == FieldType.String || (IsMessage(f) && MayHoldText(f.MessageType, [])))]);

    private static bool IsMessage(FieldDescriptor field) => field.FieldType is FieldType.Message or FieldType.Group;

    private static bool MayHoldText(MessageDescriptor descriptor, HashSet<MessageDescriptor> visiting) =>
        // A message met again on the way down is a cycle: whatever it holds is found through its first visit.
        visiting.Add(descriptor)
        && descriptor.Fields.InFieldNumberOrder().Any(f => f.FieldType == FieldType.String || (IsMessage(f) && MayHoldText(f.MessageType, visiting)));

    private static IEnumerable<char> SuspectCharacters()
    {
        for (var c = '\0'; c < ' '; c++)
        {
            if (c is not ('\t' or '\n' or '\r'))
            {
                yield return c;
            }
        }

        for (var c = '\u007F'; c <= '\u009F'; c++)
        {
            yield return c;
        }

        for (var c = '\uFDD0'; c <= '\uFDEF'; c++)
        {
            yield return c;
        }

        yield return '\uFFFE';
        yield return '\uFFFF';
        // Candidates only: noncharacters beyond the BMP when they follow the right high surrogate.
        yield return '\uDFFE';
        yield return '\uDFFF';
    }
}
