import Crypto
import Foundation

/// One intended step of an agent's plan: the request it would make, and why.
public struct PlanStep: Sendable, Equatable {
    public var request: ActionRequest
    public var intent: String?

    public init(request: ActionRequest, intent: String?) {
        self.request = request
        self.intent = intent
    }
}

/// Layer 1, planning constraints: an agent's plan travels as one request of its own, whose
/// action is `{"kind": "other", "operation": "holdpoint:plan", "steps": [...]}`. Each step
/// holds a request's fields (`action`, `summary`, …) and its `intent`; the plan's agent and
/// environment apply to every step unless the step names its own environment.
///
/// A plan runs nothing. Approving one approves no step: each gated step is still its own
/// decision. What an approved plan changes is how the agent's later actions read: "in
/// approved plan P, step 3 of 5", or OFF PLAN (see `GatewayRules.plans`).
public enum Plan {
    /// `action.operation` of a plan request.
    public static let operation = "holdpoint:plan"
    /// The document `holdpoint plan check|submit` read.
    public static let documentSchema = "holdpoint.plan/v1"
    public static let maximumSteps = 200

    /// The plan request for a `holdpoint.plan/v1` document: `{"schema", "agent",
    /// "environment", "summary"?, "reasoning"?, "steps": [{"intent", "action", …}]}`. The
    /// plan's own summary, reasoning, impact, alternatives, rollback and confidence are kept.
    public static func request(fromDocument bytes: [UInt8]) throws(RequestError) -> ActionRequest {
        let document: JSONValue
        do { document = try JSONReader.parse(bytes) } catch { throw RequestError(field: nil, message: "not JSON: \(error)") }
        guard case .object(let fields) = document else { throw RequestError(field: nil, message: "expected a JSON object, got \(document.typeName)") }
        guard document["schema"]?.stringValue == documentSchema else {
            throw RequestError(field: "schema", message: "expected \"\(documentSchema)\"")
        }
        guard let steps = document["steps"]?.arrayValue, !steps.isEmpty else {
            throw RequestError(field: "steps", message: "expected a non-empty list of steps")
        }
        if document["action"] != nil { throw RequestError(field: "action", message: "a plan has steps, not an action of its own") }
        var members: [(key: String, value: JSONValue)] = [("schema", .string(ActionRequest.schemaName))]
        for field in fields where field.key != "schema" && field.key != "steps" {
            members.append(field)
        }
        members.insert(("action", .object([("kind", .string("other")), ("operation", .string(operation)), ("steps", .array(steps))])), at: 1)
        if document["summary"] == nil {
            members.append(("summary", .string("plan of \(steps.count) step\(steps.count == 1 ? "" : "s")")))
        }
        do {
            return try ActionRequestDecoder.decode(.object(members))
        } catch {
            // Named as the plan document names it: `steps[1].action.kind`.
            guard let field = error.field, field.hasPrefix("action.steps") else { throw error }
            throw RequestError(field: String(field.dropFirst("action.".count)), message: error.message)
        }
    }

    /// The plan request for a plan written as text (Claude Code's `ExitPlanMode`): its steps
    /// are the commands the text names (`commands(inMarkdown:)`), its reasoning the text.
    public static func request(text: String, agent: JSONValue, environment: String, extra: [(key: String, value: JSONValue)] = []) throws(RequestError) -> ActionRequest {
        let steps = commands(inMarkdown: text).prefix(maximumSteps).map { command -> JSONValue in
            .object([("action", .object([("kind", .string("shell")), ("command", .string(command))]))])
        }
        let lines: [String] = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let title: String = lines.first.map { line in String(line.drop { $0 == "#" || $0 == " " }) } ?? "(empty plan)"
        var document: [(key: String, value: JSONValue)] = [
            ("schema", .string(ActionRequest.schemaName)),
            ("agent", agent),
            ("environment", .string(environment)),
            ("action", .object([("kind", .string("other")), ("operation", .string(operation)), ("steps", .array(Array(steps)))])),
            ("summary", .string("plan: \(title)")),
            ("reasoning", .array(lines.prefix(200).map { JSONValue.string($0) })),
        ]
        document += extra
        return try ActionRequestDecoder.decode(.object(document))
    }

    /// The commands a Markdown plan names: every line of a fenced code block (`$ ` prompts
    /// dropped, `\` continuations joined, comments skipped) and every inline code span that
    /// reads as a command (two or more words, the first a program name).
    public static func commands(inMarkdown text: String) -> [String] {
        var out: [String] = []
        var fenced = false
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("```") || line.hasPrefix("~~~") {
                fenced.toggle()
                pending = ""
                continue
            }
            if fenced {
                var command = line.hasPrefix("$ ") ? String(line.dropFirst(2)) : line
                if command.isEmpty || command.hasPrefix("#") { continue }
                if command.hasSuffix("\\") {
                    command.removeLast()
                    pending += command
                    continue
                }
                out.append((pending + command).trimmingCharacters(in: .whitespacesAndNewlines))
                pending = ""
            } else {
                for span in line.split(separator: "`", omittingEmptySubsequences: false).enumerated() where span.offset % 2 == 1 {
                    let words = span.element.split(separator: " ")
                    guard words.count >= 2, let first = words.first,
                        first.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }), first.first?.isLetter == true || first.first == "." || first.first == "/"
                    else { continue }
                    out.append(String(span.element))
                }
            }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// The steps of a plan request's `action` object. Each step is an action request built
    /// from the plan's agent and environment and the step's own fields.
    static func steps(of action: JSONValue, document: JSONValue) throws(RequestError) -> [PlanStep] {
        if action["command"] != nil {
            throw RequestError(field: "action.command", message: "a plan has steps, not a command of its own")
        }
        guard let steps = action["steps"]?.arrayValue else {
            throw RequestError(field: "action.steps", message: "a plan needs a list of steps")
        }
        guard steps.count <= maximumSteps else {
            throw RequestError(field: "action.steps", message: "\(steps.count) steps: at most \(maximumSteps)")
        }
        var out: [PlanStep] = []
        for (index, step) in steps.enumerated() {
            let path = "action.steps[\(index)]"
            guard case .object(let fields) = step else { throw RequestError(field: path, message: "expected an object, got \(step.typeName)") }
            var members: [(key: String, value: JSONValue)] = [("schema", .string(ActionRequest.schemaName))]
            for key in ["agent", "environment"] { if let value = document[key] { members.append((key, value)) } }
            for field in fields where field.key != "intent" {
                if field.key == "agent" || field.key == "schema" { throw RequestError(field: "\(path).\(field.key)", message: "a step cannot change the plan's \(field.key)") }
                members.removeAll { $0.key == field.key }
                members.append(field)
            }
            let intent: String?
            switch step["intent"] {
            case nil, .null?: intent = nil
            case .string(let text)?: intent = text
            case let other?: throw RequestError(field: "\(path).intent", message: "expected a string, got \(other.typeName)")
            }
            if let intent, !members.contains(where: { $0.key == "summary" }) { members.append(("summary", .string(intent))) }
            let request: ActionRequest
            do {
                request = try ActionRequestDecoder.decode(.object(members))
            } catch {
                throw RequestError(field: error.field.map { "\(path).\($0)" } ?? path, message: error.message)
            }
            if request.plan != nil { throw RequestError(field: "\(path).action", message: "a step cannot be a plan") }
            out.append(PlanStep(request: request, intent: intent))
        }
        return out
    }

    /// What a plan step and a later action must share to count as the same: environment,
    /// kind and the command (spaces collapsed) or the operation (case folded) and targets.
    /// Hashed, so that a plan's steps can be stored without the secrets they may hold.
    public static func key(of request: ActionRequest) -> String {
        var text = request.environment.lowercased() + "\u{1F}" + request.kind.rawValue + "\u{1F}"
        if let command = request.command, !command.isEmpty {
            text += command.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
        } else {
            text += (request.operation ?? "").lowercased() + "\u{1F}" + request.targets.sorted().joined(separator: "\u{1F}")
        }
        return ActionHash.hex(SHA256.hash(data: Array(text.utf8)))
    }

    /// The one line a plan shows in lists: its steps' commands in order.
    public static func headline(steps: [JSONValue]) -> String {
        let whats = steps.map { step -> String in
            let action = step["action"]
            return action?["command"]?.stringValue ?? action?["operation"]?.stringValue ?? "?"
        }
        return "plan (\(steps.count) step\(steps.count == 1 ? "" : "s")): " + (whats.isEmpty ? "no command named" : whats.joined(separator: " ; "))
    }
}

/// The one line that says what an action does, for lists, messages and the console: the
/// command, a plan's steps, or the operation.
public enum ActionText {
    public static func what(_ action: JSONValue?) -> String {
        if let command = action?["command"]?.stringValue { return command }
        if action?["operation"]?.stringValue == Plan.operation { return Plan.headline(steps: action?["steps"]?.arrayValue ?? []) }
        return action?["operation"]?.stringValue ?? "?"
    }
}
