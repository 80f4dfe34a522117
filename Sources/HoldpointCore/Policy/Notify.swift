/// What reviewers are paged about (`notify:` sinks' `events:`).
public enum NotifyEvent: String, Sendable, CaseIterable, Comparable {
    /// A request now waits for a human.
    case gated
    /// Nobody has decided by `approvals.escalate_after` of its window.
    case escalated
    /// Still undecided at one of `approvals.warn_at`'s shares of its window.
    case expiring
    /// It was approved or rejected.
    case decided
    /// Nobody decided before the deadline: denied.
    case expired
    /// The kill switch stopped an agent (or one of its requests).
    case halted
    /// Policy blocked an action (opt-in: agents try blocked things often).
    case blocked
    /// A halt was lifted. Sent to every sink that takes `halted` (a pager closes the
    /// halt's incident), or named on its own.
    case resumed

    public static let defaults: Set<NotifyEvent> = [.gated, .escalated, .expiring, .decided, .expired, .halted]

    public static func < (lhs: NotifyEvent, rhs: NotifyEvent) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// One place notifications go (`notify:` in the policy). Secrets (an HMAC key, a webhook
/// URL that is itself a credential, a PagerDuty routing key) are read from files named
/// here, never written in the policy.
public struct NotifySink: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case generic, slack, pagerduty, ntfy
    }

    public enum Target: Sendable, Equatable {
        /// POST the event. `url` is given, or read from `urlFile`.
        case webhook(url: String?, urlFile: String?, format: Format)
        /// Run a program with the event (generic JSON) on stdin.
        case command([String])
        /// An RFC 5424 line to a local syslog socket (default /dev/log).
        case syslog(socket: String)
    }

    public var name: String
    public var target: Target
    public var events: Set<NotifyEvent>
    /// The HMAC-SHA256 key for `X-Holdpoint-Signature-256` (webhooks).
    public var secretFile: String?
    /// PagerDuty's integration (routing) key, read from this file.
    public var routingKeyFile: String?
    /// How long one delivery may take.
    public var timeout: Double

    /// Whether `event` goes to this sink: those it names, and a halt's lifting with the halt.
    public func wants(_ event: NotifyEvent) -> Bool {
        events.contains(event) || (event == .resumed && events.contains(.halted))
    }

    public init(
        name: String, target: Target, events: Set<NotifyEvent> = NotifyEvent.defaults, secretFile: String? = nil,
        routingKeyFile: String? = nil, timeout: Double = 10
    ) {
        self.name = name
        self.target = target
        self.events = events
        self.secretFile = secretFile
        self.routingKeyFile = routingKeyFile
        self.timeout = timeout
    }
}
