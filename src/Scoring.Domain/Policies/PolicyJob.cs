namespace Scoring.Domain.Policies;

/// <summary>What a policy job does.</summary>
public enum PolicyJobKind
{
    Unspecified = 0,

    /// <summary>Computes every user's score under two versions and tallies the differences; writes nothing else.</summary>
    Simulation = 1,

    /// <summary>After an activation: records a _POLICY change for each user whose standing the new version changed.</summary>
    Rescore = 2,
}

/// <summary>Where a job is. Values match the public contract (<c>PolicySimulationState</c>).</summary>
public enum PolicyJobState
{
    Unspecified = 0,
    Pending = 1,
    Running = 2,
    Succeeded = 3,
    Cancelled = 4,
    Failed = 5,
}

/// <summary>
/// A pass over every user with active violations, run by one replica at a time under a lease, a page at a
/// time, with its position and partial result saved after each page: when its replica dies, another takes
/// it over once the lease lapses and resumes from the last saved page, so no user is counted twice.
/// </summary>
public sealed class PolicyJob
{
    // For EF Core materialisation.
    private PolicyJob()
    {
    }

    public string Id { get; private set; } = null!;
    public PolicyJobKind Kind { get; private set; }
    public PolicyJobState State { get; private set; }

    /// <summary>The version simulated, or the version activated.</summary>
    public string CandidateVersion { get; private set; } = null!;

    /// <summary>The version compared with; for a re-scoring pass, the version the activation replaced (null at bootstrap).</summary>
    public string? BaselineVersion { get; private set; }

    /// <summary>The instant a simulation computes scores at; null for a re-scoring pass (each page at its own now).</summary>
    public DateTimeOffset? AsOf { get; private set; }

    public string RequestedBy { get; private set; } = null!;
    public DateTimeOffset CreatedAt { get; private set; }

    /// <summary>No replica takes it earlier (a re-scoring pass waits until every replica scores under its version).</summary>
    public DateTimeOffset NotBefore { get; private set; }
    public DateTimeOffset UpdatedAt { get; private set; }
    public DateTimeOffset? FinishedAt { get; private set; }

    /// <summary>Users to look at, counted when the job first starts.</summary>
    public long UsersTotal { get; private set; }
    public long UsersDone { get; private set; }

    /// <summary>The last user id looked at: the next page starts after it.</summary>
    public string? Cursor { get; private set; }

    /// <summary>The partial (then final) result, serialised; a simulation's tally.</summary>
    public string? Result { get; private set; }

    public string? LeaseOwner { get; private set; }
    public DateTimeOffset? LeaseUntil { get; private set; }

    /// <summary>Why it failed, when it did.</summary>
    public string? Failure { get; private set; }

    /// <summary>Counts every change: two replicas saving the same job conflict, and the later is refused.</summary>
    public long Revision { get; private set; }

    public bool IsFinished => State is PolicyJobState.Succeeded or PolicyJobState.Cancelled or PolicyJobState.Failed;

    public static PolicyJob Simulation(string id, string candidate, string baseline, DateTimeOffset asOf, string requestedBy, DateTimeOffset now) =>
        New(id, PolicyJobKind.Simulation, candidate, baseline, Instants.ToMicroseconds(asOf), requestedBy, now, now);

    /// <param name="settled">
    /// How long until every replica scores under <paramref name="activated"/>: a user written by a replica still
    /// on the old version before then is re-scored after it, so no change the activation made goes unrecorded.
    /// </param>
    public static PolicyJob Rescore(string id, string activated, string? replaced, string requestedBy, DateTimeOffset now, TimeSpan settled) =>
        New(id, PolicyJobKind.Rescore, activated, replaced, null, requestedBy, now, now + settled);

    private static PolicyJob New(
        string id, PolicyJobKind kind, string candidate, string? baseline, DateTimeOffset? asOf, string requestedBy, DateTimeOffset now, DateTimeOffset notBefore) => new()
        {
            NotBefore = Instants.ToMicroseconds(notBefore),
            Id = id,
            Kind = kind,
            State = PolicyJobState.Pending,
            CandidateVersion = candidate,
            BaselineVersion = baseline,
            AsOf = asOf,
            RequestedBy = requestedBy,
            CreatedAt = Instants.ToMicroseconds(now),
            UpdatedAt = Instants.ToMicroseconds(now),
        };

    /// <summary>
    /// Whether <paramref name="owner"/> may take it: waiting; or running under a lease that lapsed (its replica
    /// died) or that <paramref name="owner"/> holds itself (its run was cut short, by the database going away).
    /// </summary>
    public bool IsClaimableBy(string owner, DateTimeOffset now) =>
        (State == PolicyJobState.Pending && NotBefore <= now) || (State == PolicyJobState.Running && (LeaseUntil <= now || LeaseOwner == owner));

    /// <summary>Takes the job for <paramref name="lease"/>; it resumes after <see cref="Cursor"/>.</summary>
    public void Claim(string owner, DateTimeOffset now, TimeSpan lease)
    {
        if (!IsClaimableBy(owner, now))
        {
            throw new DomainException($"job {Id} is {State} and held until {LeaseUntil:O}; it cannot be taken");
        }

        State = PolicyJobState.Running;
        Touch(owner, now, lease);
    }

    /// <summary>Counts the users to look at (once: a resumed job keeps its count).</summary>
    public void Count(long users)
    {
        if (UsersTotal == 0)
        {
            UsersTotal = users;
        }
    }

    /// <summary>Saves a page's progress and extends the lease.</summary>
    public void Advance(string owner, string? cursor, int users, string? result, DateTimeOffset now, TimeSpan lease)
    {
        RequireHeldBy(owner);
        Cursor = cursor ?? Cursor;
        UsersDone += users;
        // A count taken at the start can be overtaken by users who got violations since.
        UsersTotal = Math.Max(UsersTotal, UsersDone);
        Result = result ?? Result;
        Touch(owner, now, lease);
    }

    public void Succeed(string owner, string? result, DateTimeOffset now)
    {
        RequireHeldBy(owner);
        Result = result ?? Result;
        UsersTotal = UsersDone;
        Finish(PolicyJobState.Succeeded, now);
    }

    public void Fail(string owner, string failure, DateTimeOffset now)
    {
        RequireHeldBy(owner);
        Failure = failure.Length > 500 ? failure[..500] : failure;
        Finish(PolicyJobState.Failed, now);
    }

    /// <summary>Stops it; its replica notices at its next page. Cancelling a cancelled job changes nothing.</summary>
    public void Cancel(DateTimeOffset now)
    {
        if (State == PolicyJobState.Cancelled)
        {
            return;
        }

        if (IsFinished)
        {
            throw new DomainException($"job {Id} is {State.ToString().ToUpperInvariant()}; only a pending or running job can be cancelled");
        }

        Finish(PolicyJobState.Cancelled, now);
    }

    private void RequireHeldBy(string owner)
    {
        if (State != PolicyJobState.Running || LeaseOwner != owner)
        {
            throw new DomainException($"job {Id} is no longer held by {owner}");
        }
    }

    private void Touch(string owner, DateTimeOffset now, TimeSpan lease)
    {
        LeaseOwner = owner;
        UpdatedAt = Instants.ToMicroseconds(now);
        LeaseUntil = Instants.ToMicroseconds(now + lease);
        Revision++;
    }

    private void Finish(PolicyJobState state, DateTimeOffset now)
    {
        State = state;
        FinishedAt = UpdatedAt = Instants.ToMicroseconds(now);
        LeaseOwner = null;
        LeaseUntil = null;
        Revision++;
    }
}
