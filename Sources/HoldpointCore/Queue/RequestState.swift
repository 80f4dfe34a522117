import Foundation

/// Where a request stands. A request leaves `pending` exactly once.
public enum RequestState: String, Sendable, CaseIterable, Codable {
    /// Autonomous or supervised: ran (or may run) without a human.
    case allowed
    /// Gated: waiting for reviewers.
    case pending
    case approved
    case rejected
    /// No decision before the deadline: a denial, never an approval.
    case expired
    /// Blocked by policy: never runs.
    case blocked
    /// The agent (or everything) was halted by the kill switch.
    case halted
    /// The submitter took the request back.
    case withdrawn
    /// An executor is running the approved action.
    case running
    case succeeded
    case failed

    /// States from which nothing can change any more (approval aside, which an executor consumes).
    public var isFinal: Bool {
        switch self {
        case .pending, .approved, .running: return false
        default: return true
        }
    }
}

/// Who did something, as recorded: the OS login behind the process, and how they came in.
public struct Identity: Sendable, Equatable {
    public var user: String
    /// `ssh 10.0.0.7`, `tty /dev/pts/3`, `local`; through the daemon, what the kernel said
    /// of the connection and, labelled `claimed`, what the client said of its origin.
    public var via: String
    /// The OS groups of the user, for reviewers named as `@group`. Only the daemon fills
    /// them in (from the kernel's account of the caller); recorded nowhere.
    public var groups: [String]

    public init(user: String, via: String, groups: [String] = []) {
        self.user = user
        self.via = via
        self.groups = groups
    }
}

public enum Verdict: String, Sendable, CaseIterable {
    case approve
    case reject
}

/// One reviewer's vote on a request.
public struct Vote: Sendable, Equatable {
    public var reviewer: String
    public var via: String
    public var verdict: Verdict
    public var reason: String
    public var at: Double
    public var actionSHA256: String
    /// The reviewer's groups when they voted, for `one_from_each` rules.
    public var groups: [String]

    public init(reviewer: String, via: String, verdict: Verdict, reason: String, at: Double, actionSHA256: String, groups: [String] = []) {
        self.groups = groups
        self.reviewer = reviewer
        self.via = via
        self.verdict = verdict
        self.reason = reason
        self.at = at
        self.actionSHA256 = actionSHA256
    }
}

/// Why a reviewer's vote was refused before it was counted.
public enum VoteRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case selfApproval(String)
    case notAReviewer(String)
    case alreadyVoted(String)
    case reasonRequired

    public var description: String {
        switch self {
        case .selfApproval(let who): return "\(who) may not approve this request: self-approval is forbidden (they submitted it or the agent acts for them)"
        case .notAReviewer(let who): return "\(who) is not in the policy's reviewers"
        case .alreadyVoted(let who): return "\(who) has already voted on this request"
        case .reasonRequired: return "a rejection needs a reason (--reason TEXT)"
        }
    }
}

/// The decision rule, as pure logic: k distinct approvals approve; `rejectionsToReject`
/// rejections reject. The store applies it inside the transaction that records the vote.
public enum DecisionRule {
    /// Checks whether `reviewer` may cast `verdict` at all.
    public static func admit(
        reviewer: String, groups: [String] = [], verdict: Verdict, reason: String, submittedBy: String?, onBehalfOf: String?,
        earlier: [Vote], rules: ApprovalRules
    ) -> VoteRefusal? {
        if verdict == .reject && reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .reasonRequired }
        if !rules.isReviewer(reviewer, groups: groups) { return .notAReviewer(reviewer) }
        if verdict == .approve && !rules.allowSelfApproval && (reviewer == submittedBy || reviewer == onBehalfOf) {
            return .selfApproval(reviewer)
        }
        if earlier.contains(where: { $0.reviewer == reviewer }) { return .alreadyVoted(reviewer) }
        return nil
    }

    /// The request's state after `votes`: still pending, approved or rejected.
    public static func outcome(of votes: [Vote], rules: ApprovalRules) -> RequestState {
        let rejections = Set(votes.filter { $0.verdict == .reject }.map(\.reviewer)).count
        if rejections >= rules.rejectionsToReject { return .rejected }
        let approving = votes.filter { $0.verdict == .approve }
        guard Set(approving.map(\.reviewer)).count >= rules.required else { return .pending }
        // One approver from each named group (a login or @group), when the rules ask for it.
        for entry in rules.oneFromEach {
            let covered = approving.contains { vote in
                entry.hasPrefix("@") ? vote.groups.contains(String(entry.dropFirst())) : vote.reviewer == entry
            }
            if !covered { return .pending }
        }
        return .approved
    }
}
