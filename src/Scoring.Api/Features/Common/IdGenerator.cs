namespace Scoring.Api.Features.Common;

/// <summary>Makes server-side ids; injectable so tests can predict them.</summary>
public interface IIdGenerator
{
    string NewId();
}

/// <summary>Version 7 GUIDs: time-ordered, so new rows land at the end of the primary-key index.</summary>
public sealed class GuidV7IdGenerator(TimeProvider timeProvider) : IIdGenerator
{
    public string NewId() => Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString();
}
