import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointStore

/// What `submit` and `plan submit` share: whether to wait for the decision, for how long,
/// and how to report it.
struct WaitOptions: ParsableArguments {
    @Flag(name: .long, help: "Block until it is decided or expires.")
    var wait = false

    @Option(name: .long, help: ArgumentHelp("With --wait: give up after this long (90, 90s, 15m); it then expires, which is a denial.", valueName: "duration"))
    var timeout: String?

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

    func validate() throws {
        if let timeout, Durations.parse(timeout) == nil { throw ValidationError("--timeout: expected a duration such as 90, 90s or 15m, got '\(timeout)'") }
        if timeout != nil && !wait { throw ValidationError("--timeout goes with --wait") }
    }

    var timeoutSeconds: Double? { timeout.flatMap(Durations.parse) }
}

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Queue one action (a holdpoint.action/v1 request on stdin).",
        discussion: """
            Prints the id and verdict. Exit: 0 allowed, 2 blocked, 4 halted, 5 gated and not waited for.
            With --wait: 0 approved, 1 rejected, 3 expired, 4 halted.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agentOptions: AgentOptions

    @Option(name: .long, help: ArgumentHelp("A shell command line to queue instead of a request on stdin.", valueName: "command"))
    var command: String?

    @OptionGroup var waiting: WaitOptions

    var wait: Bool { waiting.wait }
    var json: Bool { waiting.json }

    func run() throws {
        let service = try global.service(classifying: true, creating: true)
        let request = try RequestInput.read(command: command, agent: agentOptions.settings)
        let stored = try queueCall { () throws(StoreError) in try service.submit(request, timeout: waiting.timeoutSeconds) }
        if wait && stored.state == .pending {
            if !json { Terminal.error("waiting for approval of \(stored.id) (\(SafeText.escape(String(QueueOutput.what(stored).prefix(80)))))…") }
            let final = try Waiter.wait(for: stored.id, service: service, timeout: nil)
            report(final)
            throw ExitCode(QueueOutput.exitCode(for: final.state))
        }
        report(stored)
        throw ExitCode(QueueOutput.exitCode(for: stored.state))
    }

    private func report(_ stored: StoredRequest) {
        if json {
            Terminal.print(JSONWriter.pretty(QueueOutput.json(stored)))
        } else {
            Terminal.print(QueueOutput.summary(stored))
            for line in Terminal.ruleLines(stored.reasons) { Terminal.print(line) }
        }
    }
}

/// The CLI face of `QueueService.wait`: errors become the contract's exit codes.
enum Waiter {
    static func wait(for id: String, service: any QueueService, timeout: Double?) throws -> StoredRequest {
        let result: StoredRequest?
        do {
            result = try service.wait(id: id, timeout: timeout)
        } catch {
            Terminal.error("queue unavailable while waiting: \(error.description)")
            throw ExitCode(ExitCodes.unavailable)
        }
        guard let result else {
            Terminal.error("no request with id \(id)")
            throw ExitCode(ExitCodes.badInput)
        }
        return result
    }
}

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Block until request ID is decided or expires.",
        discussion: "Exit: 0 approved (or allowed), 1 rejected, 2 blocked, 3 expired, 4 halted, 5 still pending when --timeout ran out, 65 unknown id."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id.")
    var id: String

    @Option(name: .long, help: ArgumentHelp("Stop waiting after this long (the request stays pending: exit 5).", valueName: "duration"))
    var timeout: String?

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

    func validate() throws {
        if let timeout, Durations.parse(timeout) == nil { throw ValidationError("--timeout: expected a duration such as 90, 90s or 15m, got '\(timeout)'") }
    }

    func run() throws {
        guard RequestID.isValid(id) else {
            Terminal.error("'\(SafeText.escape(id))' is not a request id (26 characters, as submit prints)")
            throw ExitCode(ExitCodes.badInput)
        }
        let service = try global.service()
        let final = try Waiter.wait(for: id, service: service, timeout: timeout.flatMap(Durations.parse))
        Terminal.print(json ? JSONWriter.pretty(QueueOutput.json(final)) : QueueOutput.summary(final))
        throw ExitCode(QueueOutput.exitCode(for: final.state))
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List requests, oldest first (newest last).")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Only this state (repeatable): pending, approved, rejected, expired, …", valueName: "state"))
    var state: [String] = []

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Only this tier (repeatable).", valueName: "tier"))
    var tier: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this agent.", valueName: "id"))
    var agent: String?

    @Option(name: .long, help: ArgumentHelp("Only the newest N.", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func validate() throws {
        for s in state where RequestState(rawValue: s) == nil {
            throw ValidationError("--state: unknown state '\(s)' (expected one of \(RequestState.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        for t in tier where Tier(rawValue: t) == nil {
            throw ValidationError("--tier: unknown tier '\(t)' (expected autonomous, supervised, gated or blocked)")
        }
    }

    func run() throws {
        let service = try global.service()
        let filter = RequestFilter(states: Set(state.compactMap(RequestState.init(rawValue:))), tiers: Set(tier.compactMap(Tier.init(rawValue:))), agent: agent, limit: limit)
        if json && limit == nil {
            // Page by page, each printed as it is read: memory stays flat however long the
            // queue (the whole array once took 537 MiB at 100k requests).
            var printed = 0
            var page = filter
            page.first = 500
            while true {
                let requests = try queueCall { () throws(StoreError) in try service.list(page) }
                var text = ""
                for r in requests {
                    let element = JSONWriter.pretty(QueueOutput.json(r, includeRequest: true))
                    text += (printed == 0 ? "[\n" : ",\n") + element.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
                    printed += 1
                }
                Terminal.print(text, terminator: "")
                guard let last = requests.last, requests.count == page.first else { break }
                page.after = (last.createdAt, last.id)
            }
            Terminal.print(printed == 0 ? "[]" : "\n]")
            return
        }
        let requests = try queueCall { () throws(StoreError) in try service.list(filter) }
        if json {
            Terminal.print(JSONWriter.pretty(.array(requests.map { QueueOutput.json($0, includeRequest: true) })))
            return
        }
        if requests.isEmpty {
            Terminal.print("no requests")
            return
        }
        Terminal.print(Terminal.pad("ID", 27) + Terminal.pad("STATE", 10) + Terminal.pad("TIER", 11) + Terminal.pad("AGENT", 16) + Terminal.pad("ENV", 12) + "ACTION")
        for r in requests {
            let what = SafeText.escape(QueueOutput.what(r))
            // The action is the last column and is printed whole: a cut could hide exactly
            // the part being approved (`…policy-arn arn:aws:iam::aws:` without the policy).
            Terminal.print(
                Terminal.pad(r.id, 27) + Terminal.pad(r.state.rawValue, 10) + Terminal.pad(r.tier.rawValue, 11)
                    + Terminal.pad(Terminal.shorten(SafeText.escape(r.agentID), 15), 16) + Terminal.pad(Terminal.shorten(SafeText.escape(r.environment), 11), 12) + what)
        }
    }
}

extension Verdict: ExpressibleByArgument {}

struct Decide: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decide",
        abstract: "Approve or reject a pending request, under the same rules as the console.",
        discussion:
            "Exit: 0 recorded, 6 no longer pending (decided, expired or halted: the message says who and when), 77 you may not decide it, 65 unknown id or missing reason, 69 queue unavailable."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id.")
    var id: String

    @Argument(help: "approve or reject.")
    var verdict: Verdict

    @Option(name: .long, help: ArgumentHelp("Why (required to reject).", valueName: "text"))
    var reason: String = ""

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

    func run() throws {
        guard RequestID.isValid(id) else {
            Terminal.error("'\(SafeText.escape(id))' is not a request id")
            throw ExitCode(ExitCodes.badInput)
        }
        let service = try global.service()
        let result = try queueCall { () throws(StoreError) in try service.decide(id: id, verdict: verdict, reason: reason) }
        switch result {
        case .notFound:
            Terminal.error("no request with id \(id)")
            throw ExitCode(ExitCodes.badInput)
        case .recorded(let stored):
            if json {
                Terminal.print(JSONWriter.pretty(QueueOutput.json(stored)))
            } else {
                if stored.state == .pending {
                    Terminal.print("vote recorded: \(stored.votes.filter { $0.verdict == .approve }.count) of \(stored.requiredApprovals) approvals; \(stored.id) is still pending")
                } else {
                    Terminal.print(QueueOutput.summary(stored))
                }
            }
        case .notPending(let stored):
            if json { Terminal.print(JSONWriter.pretty(QueueOutput.json(stored))) }
            let who = stored.closedBy.map { " by \(SafeText.escape($0))\(stored.closedVia.map { " (\(SafeText.escape($0)))" } ?? "")" } ?? ""
            let when = stored.closedAt.map { " at \(Clock.iso8601($0))" } ?? ""
            Terminal.error("\(id) is no longer pending: \(stored.state.rawValue)\(who)\(when)")
            throw ExitCode(ExitCodes.notPending)
        case .refused(let refusal, _):
            Terminal.error(refusal.description)
            throw ExitCode(refusal == .reasonRequired ? ExitCodes.badInput : ExitCodes.notPermitted)
        }
    }
}

struct HaltCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "halt",
        abstract: "The kill switch: halt an agent (or --all); its pending requests become halted and new ones are refused (exit 4)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The agent id.")
    var agent: String?

    @Flag(name: .long, help: "Halt every agent.")
    var all = false

    @Option(name: .long, help: ArgumentHelp("Why (recorded).", valueName: "text"))
    var reason: String

    func validate() throws {
        if all == (agent != nil) { throw ValidationError("give an agent id or --all") }
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must not be empty") }
    }

    func run() throws {
        let service = try global.service(creating: true)
        let target = all ? "*" : agent ?? "*"
        let stopped = try queueCall { () throws(StoreError) in try service.halt(agent: target, reason: reason) }
        Terminal.print("halted \(all ? "every agent" : SafeText.escape(target)); \(stopped) pending request\(stopped == 1 ? "" : "s") stopped")
    }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Lift a halt on an agent (or --all).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The agent id.")
    var agent: String?

    @Flag(name: .long, help: "Lift the halt on every agent.")
    var all = false

    func validate() throws {
        if all == (agent != nil) { throw ValidationError("give an agent id or --all") }
    }

    func run() throws {
        let service = try global.service()
        let target = all ? "*" : agent ?? "*"
        guard try queueCall({ () throws(StoreError) in try service.resume(agent: target) }) else {
            Terminal.error("\(all ? "--all" : SafeText.escape(target)) was not halted")
            throw ExitCode(ExitCodes.notPending)
        }
        Terminal.print("resumed \(all ? "every agent" : SafeText.escape(target))")
    }
}
