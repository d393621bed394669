namespace Scoring.Domain;

/// <summary>A business rule refused an operation; the caller must change something before retrying.</summary>
public class DomainException(string message) : Exception(message);
