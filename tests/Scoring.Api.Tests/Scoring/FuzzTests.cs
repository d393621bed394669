using System.Collections;
using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// Every unary RPC of every service, enumerated from the proto descriptors and fed requests built from them:
/// each field in turn set to empty, oversized, control, SQL-like, emoji and out-of-range values on a plausible
/// request, then random requests from a fixed seed, then bytes no client library sends (invalid UTF-8 in each
/// string field, garbage, truncated messages). No answer may be INTERNAL or UNKNOWN, and the service must be
/// healthy afterwards.
/// </summary>
public abstract class FuzzTests(Backend backend)
{
    private const int Seed = 20_261_130;
    private const int RandomRequestsPerMethod = 40;
    private const int MaxDepth = 3;

    private static readonly FileDescriptor[] Contracts =
    [
        ConductScoringReflection.Descriptor, AppealsReflection.Descriptor, AuditReflection.Descriptor, PrivacyReflection.Descriptor, PoliciesReflection.Descriptor,
    ];

    /// <summary>Statuses that mean the server failed rather than refused.</summary>
    private static readonly HashSet<StatusCode> ServerFailures = [StatusCode.Internal, StatusCode.Unknown, StatusCode.Unimplemented, StatusCode.DataLoss];

    private static readonly string[] Texts =
    [
        "", " ", "   \t", new('x', 10_000), "\0", "a\0b", "\u0001", "\u001B[2J", "\u007F", "\u0085", "\u009F", "\uFFFE", "\uFDD0", "\U0010FFFF",
        "'; DROP TABLE violations; --", "' OR '1'='1", "%", "_%\\", "\\x00", "NULL", "null", "$1", "😀", "👨‍👩‍👧", "\u202Eevil", "\uFEFFbom",
        "e\u0301", "ｕ－１", "0", "-1", "99999999999999999999999999", "../../etc/passwd", "<script>alert(1)</script>", "${jndi:ldap://x/a}",
        "line\r\nbreak", "mod.queue", "spam", "u-1",
    ];

    private static readonly long[] Integers = [0, 1, -1, 2, 500, 501, 1000, 1001, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue];
    private static readonly double[] Reals = [0, -0.0, -1, 1e308, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon];
    private static readonly int[] EnumNumbers = [0, 1, 2, 3, 4, 5, 6, 7, 99, -1, int.MaxValue, int.MinValue];
    private static readonly int[] RepeatedCounts = [0, 2, 1001];

    private ScoringApp App => backend.App;

    [Fact]
    public async Task No_request_to_any_unary_RPC_answers_internal_or_unknown_and_the_service_stays_healthy()
    {
        var timer = Stopwatch.StartNew();
        var known = await KnownIdsAsync();
        var generator = new RequestGenerator(new Random(Seed), known, App.Time.GetUtcNow());
        var statuses = new SortedDictionary<StatusCode, int>();
        var failures = new List<string>();
        var calls = 0;

        foreach (var method in UnaryMethods())
        {
            foreach (var (label, payload, mustBeInvalid) in generator.For(method.InputType))
            {
                var code = await CallAsync(method, payload);
                calls++;
                statuses[code] = statuses.GetValueOrDefault(code) + 1;
                if (ServerFailures.Contains(code) || (mustBeInvalid && code != StatusCode.InvalidArgument))
                {
                    failures.Add($"{method.FullName} {label}: {code}");
                }
            }
        }

        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{calls} calls in {timer.Elapsed.TotalSeconds:F1} s: {string.Join(", ", statuses.Select(s => $"{s.Key} {s.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} calls failed:\n{string.Join("\n", failures.Take(50))}");
        await AssertHealthyAsync(known.UserId);
    }

    [Fact]
    public async Task Broken_gRPC_framing_is_refused_and_leaves_the_service_healthy()
    {
        var known = await KnownIdsAsync();
        var valid = new GetScoreRequest { UserId = known.UserId }.ToByteArray();
        var frames = new Dictionary<string, byte[]>
        {
            ["garbage message"] = RawCalls.Frame([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            ["invalid UTF-8 message"] = RawCalls.Frame([0x0A, 0x02, 0xC3, 0x28]),
            ["empty message"] = RawCalls.Frame([]),
            // Broken framing, below the message: grpc-dotnet answers these itself, before any hook of ours (see README).
            ["length beyond the body"] = RawCalls.Frame(valid, declaredLength: valid.Length + 10),
            ["bytes after the message"] = [.. RawCalls.Frame(valid), 0x00],
            ["compressed without grpc-encoding"] = RawCalls.Frame(valid, compressed: 1),
            ["unknown compressed flag"] = RawCalls.Frame(valid, compressed: 2),
            ["half a header"] = [0x00, 0x00],
            ["no body"] = [],
        };

        var answers = new Dictionary<string, StatusCode>();
        foreach (var (name, frame) in frames)
        {
            answers[name] = await App.PostBodyAsync("scoring.v1.ConductScoring", "GetScore", frame);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}")));
        Assert.Equal(StatusCode.InvalidArgument, answers["garbage message"]);
        Assert.Equal(StatusCode.InvalidArgument, answers["invalid UTF-8 message"]);
        // An empty message is a valid GetScoreRequest with no user id: the validator refuses it.
        Assert.Equal(StatusCode.InvalidArgument, answers["empty message"]);
        Assert.DoesNotContain(StatusCode.OK, answers.Values);
        Assert.Equal(StatusCode.OK, await App.PostBodyAsync("scoring.v1.ConductScoring", "GetScore", RawCalls.Frame(valid)));
        await AssertHealthyAsync(known.UserId);
    }

    private static IEnumerable<MethodDescriptor> UnaryMethods() =>
        Contracts.SelectMany(file => file.Services).SelectMany(service => service.Methods).Where(m => !m.IsClientStreaming && !m.IsServerStreaming);

    private async Task<StatusCode> CallAsync(MethodDescriptor method, byte[] payload)
    {
        try
        {
            await App.UnaryAsync(method.Service.FullName, method.Name, payload);
            return StatusCode.OK;
        }
        catch (RpcException exception)
        {
            return exception.StatusCode;
        }
    }

    /// <summary>A user with a violation under appeal, so generated requests can name things that exist and reach the database.</summary>
    private async Task<KnownIds> KnownIdsAsync()
    {
        var userId = NewUserId();
        var violation = (await App.Scoring.RecordViolationAsync(Violation(userId))).Violation;
        var appeal = await App.Appeals.SubmitAppealAsync(new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = userId, Statement = "Not me." });
        return new KnownIds(userId, violation.ViolationId, appeal.AppealId);
    }

    private async Task AssertHealthyAsync(string userId)
    {
        var health = await App.Health.CheckAsync(new HealthCheckRequest { Service = "readiness" });
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        var violation = await App.Scoring.RecordViolationAsync(Violation(NewUserId()));
        Assert.False(violation.Duplicate);
        Assert.Equal(userId, (await App.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).UserId);
    }

    private sealed record KnownIds(string UserId, string ViolationId, string AppealId);

    /// <summary>Requests for one message type, all built from its descriptor; deterministic for a given seed.</summary>
    private sealed class RequestGenerator(Random random, KnownIds known, DateTimeOffset now)
    {
        private static readonly byte[][] InvalidUtf8 = [[0xC3, 0x28], [0xED, 0xA0, 0x80], [0xFF], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0x61, 0xE2, 0x82]];

        private int _sequence;

        public IEnumerable<(string Label, byte[] Payload, bool MustBeInvalid)> For(MessageDescriptor descriptor)
        {
            yield return ("plausible", Plausible(descriptor, 0).ToByteArray(), false);
            yield return ("empty", [], false);

            // One field at a time, at any depth, over a plausible request.
            foreach (var path in Leaves(descriptor, 0))
            {
                var last = path[^1];
                foreach (var value in ValuesFor(last))
                {
                    var message = Plausible(descriptor, 0);
                    Set(message, path, value);
                    yield return ($"{Describe(path)}={Describe(value)}", message.ToByteArray(), false);
                }

                if (last.IsRepeated)
                {
                    foreach (var count in RepeatedCounts)
                    {
                        var message = Plausible(descriptor, 0);
                        var list = List(Parent(message, path), last);
                        list.Clear();
                        for (var i = 0; i < count; i++)
                        {
                            list.Add(PlausibleValue(last, 0));
                        }

                        yield return ($"{Describe(path)} x{count}", message.ToByteArray(), false);
                    }
                }

                if (last.FieldType == FieldType.String)
                {
                    foreach (var bytes in InvalidUtf8)
                    {
                        yield return ($"{Describe(path)}=bytes {Convert.ToHexString(bytes)}", WithRawString(descriptor, path, 0, bytes), true);
                    }
                }
            }

            // Too large for the service to read at all.
            if (descriptor.Fields.InFieldNumberOrder().FirstOrDefault(f => f.FieldType == FieldType.String && !f.IsRepeated) is { } first)
            {
                var huge = Plausible(descriptor, 0);
                first.Accessor.SetValue(huge, new string('h', 1_100_000));
                yield return ($"{first.Name}=1.1M chars", huge.ToByteArray(), false);
            }

            for (var i = 0; i < RandomRequestsPerMethod; i++)
            {
                yield return ($"random #{i}", RandomMessage(descriptor, 0).ToByteArray(), false);
            }

            var plausible = Plausible(descriptor, 0).ToByteArray();
            if (plausible.Length > 1)
            {
                // The last field loses its last byte, so it can never be complete.
                yield return ("truncated", plausible[..^1], true);
            }

            foreach (var length in new[] { 1, 7, 64 })
            {
                var garbage = new byte[length];
                random.NextBytes(garbage);
                yield return ($"garbage {Convert.ToHexString(garbage)}", garbage, false);
            }
        }

        /// <summary>A request a well-behaved client might send: ids that exist, a category in policy, the current time.</summary>
        private IMessage Plausible(MessageDescriptor descriptor, int depth)
        {
            var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
            foreach (var field in Fields(descriptor))
            {
                if (depth >= MaxDepth && IsMessage(field))
                {
                    continue;
                }

                if (field.IsRepeated)
                {
                    List(message, field).Add(PlausibleValue(field, depth));
                }
                else
                {
                    field.Accessor.SetValue(message, PlausibleValue(field, depth));
                }
            }

            return message;
        }

        private object PlausibleValue(FieldDescriptor field, int depth) => field.FieldType switch
        {
            FieldType.String => field.Name switch
            {
                "user_id" or "user_ids" => known.UserId,
                "violation_id" => known.ViolationId,
                "appeal_id" => known.AppealId,
                "event_id" or "request_id" => $"fuzz-{++_sequence}",
                "category" => "spam",
                "source" => "mod.queue",
                "page_token" => "",
                _ => "fuzz",
            },
            FieldType.Enum => EnumValue(field, field.EnumType.Values.FirstOrDefault(v => v.Number != 0)?.Number ?? 0),
            FieldType.Bool => false,
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => 10,
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => 10L,
            FieldType.UInt32 or FieldType.Fixed32 => 10U,
            FieldType.UInt64 or FieldType.Fixed64 => 10UL,
            FieldType.Double => 1.0,
            FieldType.Float => 1.0f,
            FieldType.Bytes => ByteString.Empty,
            _ when field.MessageType == Timestamp.Descriptor => Timestamp.FromDateTimeOffset(now - TimeSpan.FromMinutes(1)),
            _ when field.MessageType == Duration.Descriptor => Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            _ => Plausible(field.MessageType, depth + 1),
        };

        private IEnumerable<object> ValuesFor(FieldDescriptor field) => field.FieldType switch
        {
            FieldType.String => Texts,
            FieldType.Enum => EnumNumbers.Select(n => EnumValue(field, n)),
            FieldType.Bool => [true, false],
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Integers.Select(i => (object)unchecked((int)i)).Distinct(),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Integers.Select(i => (object)i),
            FieldType.UInt32 or FieldType.Fixed32 => Integers.Select(i => (object)unchecked((uint)i)).Distinct(),
            FieldType.UInt64 or FieldType.Fixed64 => Integers.Select(i => (object)unchecked((ulong)i)),
            FieldType.Double => Reals.Select(r => (object)r),
            FieldType.Float => Reals.Select(r => (object)(float)r),
            FieldType.Bytes => [ByteString.Empty, ByteString.CopyFrom(0, 0xFF)],
            _ when field.MessageType == Timestamp.Descriptor => Timestamps(),
            _ when field.MessageType == Duration.Descriptor => Durations(),
            _ => [],
        };

        private IEnumerable<object> Timestamps() =>
        [
            new Timestamp { Seconds = long.MaxValue }, new Timestamp { Seconds = long.MinValue }, new Timestamp { Nanos = -1 },
            new Timestamp { Nanos = 1_000_000_000 }, new Timestamp(), Timestamp.FromDateTime(DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc)),
            Timestamp.FromDateTime(DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc)), Timestamp.FromDateTimeOffset(now + TimeSpan.FromDays(3650)),
            Timestamp.FromDateTimeOffset(now - TimeSpan.FromDays(3650)), Timestamp.FromDateTimeOffset(now),
        ];

        private static IEnumerable<object> Durations() =>
        [
            new Duration { Seconds = long.MaxValue }, new Duration { Seconds = -1 }, new Duration { Nanos = -1_000_000_000 }, new Duration(),
        ];

        private IMessage RandomMessage(MessageDescriptor descriptor, int depth)
        {
            var message = Plausible(descriptor, depth);
            foreach (var field in Fields(descriptor))
            {
                if (random.Next(2) == 0 || (depth >= MaxDepth && IsMessage(field)))
                {
                    continue;
                }

                if (field.IsRepeated)
                {
                    var list = List(message, field);
                    list.Clear();
                    for (var count = random.Next(4); count > 0; count--)
                    {
                        list.Add(RandomValue(field, depth));
                    }
                }
                else
                {
                    field.Accessor.SetValue(message, RandomValue(field, depth));
                }
            }

            return message;
        }

        private object RandomValue(FieldDescriptor field, int depth)
        {
            if (IsMessage(field) && field.MessageType != Timestamp.Descriptor && field.MessageType != Duration.Descriptor)
            {
                return RandomMessage(field.MessageType, depth + 1);
            }

            var values = ValuesFor(field).ToArray();
            return values.Length == 0 ? PlausibleValue(field, depth) : values[random.Next(values.Length)];
        }

        /// <summary>
        /// Paths to every field a value can be put in: scalars, strings, enums, timestamps, and (through the first
        /// item of a repeated field) those of nested messages.
        /// </summary>
        private static IEnumerable<FieldDescriptor[]> Leaves(MessageDescriptor descriptor, int depth)
        {
            foreach (var field in Fields(descriptor))
            {
                if (!IsMessage(field) || field.MessageType == Timestamp.Descriptor || field.MessageType == Duration.Descriptor)
                {
                    yield return [field];
                }
                else if (depth < MaxDepth)
                {
                    yield return [field];
                    foreach (var inner in Leaves(field.MessageType, depth + 1))
                    {
                        yield return [field, .. inner];
                    }
                }
            }
        }

        private static void Set(IMessage message, FieldDescriptor[] path, object value)
        {
            var parent = Parent(message, path);
            var field = path[^1];
            if (field.IsRepeated)
            {
                var list = List(parent, field);
                list.Clear();
                list.Add(value);
            }
            else
            {
                field.Accessor.SetValue(parent, value);
            }
        }

        /// <summary>The message holding the last field of the path: the first item of repeated fields on the way.</summary>
        private static IMessage Parent(IMessage message, FieldDescriptor[] path)
        {
            foreach (var step in path[..^1])
            {
                if (step.IsRepeated)
                {
                    var items = List(message, step);
                    if (items.Count == 0)
                    {
                        items.Add(step.MessageType.Parser.ParseFrom(Google.Protobuf.ByteString.Empty));
                    }

                    message = (IMessage)items[0]!;
                    continue;
                }

                // A message field left unset (one side of a oneof, say) is created empty on the way.
                if (step.Accessor.GetValue(message) is not IMessage child)
                {
                    child = step.MessageType.Parser.ParseFrom(Google.Protobuf.ByteString.Empty);
                    step.Accessor.SetValue(message, child);
                }

                message = child;
            }

            return message;
        }

        /// <summary>A plausible message with one more occurrence of the path's string field, holding bytes that are not UTF-8.</summary>
        private byte[] WithRawString(MessageDescriptor descriptor, FieldDescriptor[] path, int index, byte[] bytes)
        {
            var field = path[index];
            var inner = index == path.Length - 1 ? bytes : WithRawString(field.MessageType, path, index + 1, bytes);
            using var stream = new MemoryStream();
            var output = new CodedOutputStream(stream);
            Plausible(descriptor, index).WriteTo(output);
            output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(inner));
            output.Flush();
            return stream.ToArray();
        }

        private static IList List(IMessage message, FieldDescriptor field) => (IList)field.Accessor.GetValue(message);

        // Map fields (a policy's source_types) are left empty: their rules have tests of their own (DsaFieldsTests).
        private static IEnumerable<FieldDescriptor> Fields(MessageDescriptor descriptor) => descriptor.Fields.InFieldNumberOrder().Where(f => !f.IsMap);

        private static object EnumValue(FieldDescriptor field, int number) => System.Enum.ToObject(field.EnumType.ClrType, number);

        private static bool IsMessage(FieldDescriptor field) => field.FieldType is FieldType.Message or FieldType.Group;

        private static string Describe(FieldDescriptor[] path) => string.Join(".", path.Select(f => f.Name));

        private static string Describe(object value) => value switch
        {
            string { Length: > 40 } text => $"<{text.Length} chars>",
            string text => $"\"{string.Concat(text.Select(c => char.IsControl(c) || c > 0x7E ? $"\\u{(int)c:X4}" : c.ToString()))}\"",
            _ => value.ToString() ?? "null",
        };
    }
}

public sealed class PostgresRedisFuzzTests(PostgresRedisBackend backend) : FuzzTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteFuzzTests(SqliteBackend backend) : FuzzTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerFuzzTests(PgBouncerBackend backend) : FuzzTests(backend), IClassFixture<PgBouncerBackend>;
