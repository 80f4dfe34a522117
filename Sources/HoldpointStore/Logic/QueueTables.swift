import HoldpointCore

/// What the queue's rules (`QueueLogic`) need from a database inside one write transaction,
/// in the queue's own terms. Each store implements it in its own SQL: `SQLiteTables` for
/// the file, the PostgreSQL store for fleets. The rules themselves — who may vote, when a
/// request expires, what a rate limit counts, when an approval may be used — are written
/// once, in `QueueLogic`, and hold for both.
///
/// Every method runs inside the caller's transaction, which holds the queue's write lock
/// (SQLite's, or the chain head's row lock in PostgreSQL): what it reads cannot change
/// before the transaction commits.
public protocol QueueTables {
    // MARK: Requests

    /// The request with its votes.
    func request(id: String) throws -> StoredRequest?
    /// The request's stored verdict (JSON): what the gateway learns from it once it may run.
    func verdict(id: String) throws -> String?
    func insert(_ stored: StoredRequest, encoded: EncodedRequest) throws
    /// Writes a request's state and how it was closed (`state`, `closed_*`, `consumed_at`).
    func close(_ stored: StoredRequest) throws
    func addVote(_ vote: Vote, to id: String) throws
    /// Pending requests whose deadline has passed, the oldest deadlines first.
    func overdue(now: Double, limit: Int) throws -> [String]
    /// `state = expired`, closed by the deadline at the deadline.
    func markExpired(id: String) throws
    /// Ids of pending requests: an agent's, or everyone's for nil.
    func pending(agent: String?) throws -> [String]
    func markHalted(id: String, by: Identity, at: Double, reason: String) throws

    // MARK: The kill switch

    /// The halt that applies to `agent`: its own, or everyone's (`*`).
    func activeHalt(agent: String) throws -> AgentHalt?
    func putHalt(_ halt: AgentHalt) throws
    /// False when `agent` was not halted.
    func removeHalt(agent: String) throws -> Bool

    // MARK: The gateway's memory

    /// An agent's requests since `since` that were let through or are waiting (not plans),
    /// of these operation classes (all for nil).
    func recentCount(agent: String, since: Double, classes: [String]?) throws -> Int
    /// The sum of a declared impact field (`cost_usd`, `resources_affected`) over an agent's
    /// requests in an environment since `since` that were let through or are waiting.
    func declaredSince(_ field: String, agent: String, environment: String, since: Double) throws -> Double
    /// Whether the agent has had an action of this class approved or run in this environment.
    func hasDone(agent: String, environment: String, operationClass: String) throws -> Bool
    /// Whether the agent has run this program in this environment.
    func hasRun(agent: String, environment: String, program: String) throws -> Bool
    /// The agent's newest approved plan made after `since`: its request id and steps.
    func latestPlan(agent: String, since: Double) throws -> (id: String, steps: [String])?
    /// Remembers what an agent may now be taken to have done (see `QueueLogic.learn`).
    func remember(agent: String, environment: String, operationClass: String?, programs: [String]) throws
    /// Records `steps` as the agent's plan from request `id`, made at `at`.
    func rememberPlan(id: String, agent: String, steps: [String], at: Double) throws

    // MARK: Running approved actions

    /// Whether the audit log holds an `approved` entry for the request.
    func approvalIsLogged(id: String) throws -> Bool
    /// Compare-and-set: marks an approved, unused request used. False when it was not.
    func markConsumed(id: String, consumer: String, at: Double) throws -> Bool
    /// Compare-and-set from `allowed` or `approved` to `running`.
    func markRunning(id: String, pid: Int32, at: Double) throws -> Bool
    /// Compare-and-set from `running` to `succeeded` or `failed`.
    func markFinished(id: String, state: RequestState, at: Double, exitCode: Int32?, signal: Int32?) throws -> Bool

    // MARK: Escalation

    func hasEscalation(id: String, kind: String) throws -> Bool
    func addEscalation(id: String, kind: String, at: Double) throws
}

/// Appends entries to the audit chain inside the caller's transaction.
public protocol AuditAppending: AnyObject {
    func append(event: String, requestID: String?, actor: Identity, at: Double, canonicalDetails: String) throws
}

extension AuditAppending {
    public func append(event: String, requestID: String?, actor: Identity, at: Double, details: JSONValue) throws {
        try append(event: event, requestID: requestID, actor: actor, at: at, canonicalDetails: JSONWriter.canonical(details))
    }
}

/// A new request's JSON columns, encoded before the write lock is taken: they depend only
/// on what was submitted, and encoding them took about a quarter of the time the lock was
/// held (perf, 50 submitting processes).
public struct EncodedRequest: Sendable {
    public var document: String
    public var verdict: String
    public var approvalRules: String
}
