using Scoring.Domain;

namespace Scoring.Api.Features.Common;

/// <summary>The thing asked for does not exist (or the caller may not know that it does).</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The key is taken by something different: the caller's request conflicts with stored state.</summary>
public sealed class ConflictException(string message) : DomainException(message);

/// <summary>The service cannot take the call now (a full write queue, shutting down); the caller should retry later.</summary>
public sealed class UnavailableException(string message) : Exception(message);

/// <summary>Another change won a race for the same thing; the caller should read it again and retry.</summary>
public sealed class AbortedException(string message) : Exception(message);
