/// Turns untrusted bytes into an `ActionRequest`, or a `RequestError` that names the field.
///
/// Unknown fields are kept (in `document`) and never an error; a wrong type or a missing
/// required field always is, so an agent learns precisely what to fix.
public enum ActionRequestDecoder {
    public static func decode(_ bytes: [UInt8]) throws(RequestError) -> ActionRequest {
        guard bytes.count <= ActionRequest.maximumSize else {
            throw RequestError(field: nil, message: "document is \(bytes.count) bytes; the limit is \(ActionRequest.maximumSize) bytes (1 MiB)")
        }
        let document: JSONValue
        do {
            document = try JSONReader.parse(bytes)
        } catch {
            throw RequestError(field: nil, message: error.description)
        }
        return try decode(document)
    }

    public static func decode(_ document: JSONValue) throws(RequestError) -> ActionRequest {
        guard case .object = document else {
            throw RequestError(field: nil, message: "expected a JSON object, got \(document.typeName)")
        }
        let fields = FieldReader(root: document)
        let schema = try fields.requiredString("schema")
        guard schema == ActionRequest.schemaName else {
            throw RequestError(field: "schema", message: "expected \"\(ActionRequest.schemaName)\", got \"\(schema)\"")
        }
        _ = try fields.requiredObject("agent")
        let agentID = try fields.requiredString("agent.id")
        guard !agentID.isEmpty else { throw RequestError(field: "agent.id", message: "must not be empty") }
        let modeText = try fields.optionalString("agent.mode")
        var mode = AgentMode.autonomous
        if let modeText {
            guard let parsed = AgentMode(rawValue: modeText) else {
                throw RequestError(field: "agent.mode", message: "expected \"supervised\" or \"autonomous\", got \"\(modeText)\"")
            }
            mode = parsed
        }
        // Compared as normalised (`EnvironmentName`): "Production " is production.
        let environment = EnvironmentName.normalize(try fields.requiredString("environment"))
        guard !environment.isEmpty else { throw RequestError(field: "environment", message: "must not be empty") }
        _ = try fields.requiredObject("action")
        let kindText = try fields.requiredString("action.kind")
        guard let kind = ActionKind(rawValue: kindText) else {
            let allowed = ActionKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw RequestError(field: "action.kind", message: "expected one of \(allowed), got \"\(kindText)\"")
        }
        let operation = try fields.optionalString("action.operation")
        let command = try fields.optionalString("action.command")
        if (operation ?? "").isEmpty && (command ?? "").isEmpty {
            throw RequestError(field: "action.operation", message: "required: give action.operation or action.command")
        }
        let targets = try fields.optionalStringArray("action.targets") ?? []
        let workingDirectory = try fields.optionalString("action.cwd")
        let content = try fields.optionalString("action.content")
        let summary = try fields.optionalString("summary")
        let reasoning = try fields.optionalStringArray("reasoning") ?? []

        if try fields.optionalObject("impact") != nil {}
        let impact = Impact(
            resourcesAffected: try fields.optionalNumber("impact.resources_affected", minimum: 0),
            costUSD: try fields.optionalNumber("impact.cost_usd", minimum: 0),
            downtimeMinutes: try fields.optionalNumber("impact.downtime_minutes", minimum: 0),
            reversible: try fields.optionalBool("impact.reversible"),
            dataLoss: try fields.optionalBool("impact.data_loss")
        )

        var alternatives: [Alternative] = []
        if let list = try fields.optionalArray("alternatives") {
            for (i, element) in list.enumerated() {
                let path = "alternatives[\(i)]"
                switch element {
                case .string(let text):
                    alternatives.append(Alternative(action: text, rejectedBecause: nil))
                case .object:
                    let item = FieldReader(root: element, prefix: path)
                    alternatives.append(
                        Alternative(
                            action: try item.requiredString("action"),
                            rejectedBecause: try item.optionalString("rejected_because")))
                default:
                    throw RequestError(field: path, message: "expected an object or a string, got \(element.typeName)")
                }
            }
        }

        var rollback: Rollback?
        if try fields.optionalObject("rollback") != nil {
            rollback = Rollback(plan: try fields.optionalString("rollback.plan"), tested: try fields.optionalBool("rollback.tested"))
        }
        let confidence = try fields.optionalNumber("confidence", minimum: 0)
        if let confidence, confidence > 1 {
            throw RequestError(field: "confidence", message: "expected a number from 0 to 1, got \(JSONWriter.formatNumber(confidence))")
        }

        var plan: [PlanStep]?
        if kind == .other, operation == Plan.operation, let action = document["action"] {
            plan = try Plan.steps(of: action, document: document)
        }

        return ActionRequest(
            agentID: agentID,
            agentName: try fields.optionalString("agent.name"),
            agentMode: mode,
            session: try fields.optionalString("agent.session"),
            onBehalfOf: try fields.optionalString("agent.on_behalf_of"),
            environment: environment,
            kind: kind,
            operation: operation,
            command: command,
            targets: targets,
            workingDirectory: workingDirectory,
            content: content,
            summary: summary,
            reasoning: reasoning,
            impact: impact,
            alternatives: alternatives,
            rollback: rollback,
            confidence: confidence,
            document: document,
            plan: plan
        )
    }
}

/// Reads typed fields by dotted path, turning every mismatch into a `RequestError`
/// of the form `impact.cost_usd: expected a number, got "lots"`.
struct FieldReader {
    let root: JSONValue
    var prefix: String = ""

    private func fullPath(_ path: String) -> String { prefix.isEmpty ? path : prefix + "." + path }

    private func lookup(_ path: String) -> JSONValue? {
        var node: JSONValue? = root
        for part in path.split(separator: ".") {
            node = node?[String(part)]
        }
        return node
    }

    private func mismatch(_ path: String, _ expected: String, _ got: JSONValue) -> RequestError {
        RequestError(field: fullPath(path), message: "expected \(expected), got \(got.shortDescription)")
    }

    func requiredString(_ path: String) throws(RequestError) -> String {
        guard let value = lookup(path), value != .null else {
            throw RequestError(field: fullPath(path), message: "required field is missing")
        }
        guard case .string(let s) = value else { throw mismatch(path, "a string", value) }
        return s
    }

    func optionalString(_ path: String) throws(RequestError) -> String? {
        guard let value = lookup(path), value != .null else { return nil }
        guard case .string(let s) = value else { throw mismatch(path, "a string", value) }
        return s
    }

    func requiredObject(_ path: String) throws(RequestError) -> JSONValue {
        guard let value = lookup(path), value != .null else {
            throw RequestError(field: fullPath(path), message: "required field is missing")
        }
        guard case .object = value else { throw mismatch(path, "an object", value) }
        return value
    }

    func optionalObject(_ path: String) throws(RequestError) -> JSONValue? {
        guard let value = lookup(path), value != .null else { return nil }
        guard case .object = value else { throw mismatch(path, "an object", value) }
        return value
    }

    func optionalArray(_ path: String) throws(RequestError) -> [JSONValue]? {
        guard let value = lookup(path), value != .null else { return nil }
        guard case .array(let a) = value else { throw mismatch(path, "an array", value) }
        return a
    }

    func optionalStringArray(_ path: String) throws(RequestError) -> [String]? {
        guard let array = try optionalArray(path) else { return nil }
        var out: [String] = []
        for (i, element) in array.enumerated() {
            guard case .string(let s) = element else {
                throw RequestError(field: "\(fullPath(path))[\(i)]", message: "expected a string, got \(element.shortDescription)")
            }
            out.append(s)
        }
        return out
    }

    func optionalNumber(_ path: String, minimum: Double? = nil) throws(RequestError) -> Double? {
        guard let value = lookup(path), value != .null else { return nil }
        guard case .number(let n) = value else { throw mismatch(path, "a number", value) }
        if let minimum, n < minimum {
            throw RequestError(field: fullPath(path), message: "expected a number >= \(JSONWriter.formatNumber(minimum)), got \(JSONWriter.formatNumber(n))")
        }
        return n
    }

    func optionalBool(_ path: String) throws(RequestError) -> Bool? {
        guard let value = lookup(path), value != .null else { return nil }
        guard case .bool(let b) = value else { throw mismatch(path, "true or false", value) }
        return b
    }
}

extension ActionRequest {
    /// A request for a shell command line, as `holdpoint check --command` and the agent
    /// hooks build them. Goes through the same decoder, so it is valid by construction.
    public static func shellCommand(
        _ command: String, environment: String, agentID: String, mode: AgentMode,
        kind: ActionKind = .shell, extra: [(key: String, value: JSONValue)] = [],
        actionExtra: [(key: String, value: JSONValue)] = []
    ) throws(RequestError) -> ActionRequest {
        var document: [(key: String, value: JSONValue)] = [
            ("schema", .string(schemaName)),
            ("agent", .object([("id", .string(agentID)), ("mode", .string(mode.rawValue))])),
            ("environment", .string(environment)),
            ("action", .object([("kind", .string(kind.rawValue)), ("command", .string(command))] + actionExtra)),
        ]
        document.append(contentsOf: extra)
        return try ActionRequestDecoder.decode(.object(document))
    }
}
