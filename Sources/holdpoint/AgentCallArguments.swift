import HoldpointCore
import HoldpointGate

/// Reads the options of `check` and `hook`, the commands agents run on every tool call,
/// without ArgumentParser.
///
/// ArgumentParser builds its model of a command by reflection, and in a binary this size
/// that costs more than the classification itself: about 2 ms of `check`'s time and more of
/// a hook's (docs/performance.md). This reader understands only plain, well-formed calls —
/// `--name value`, `--name=value`, `--json`, the client word — and answers nil for anything
/// else (help, a typo, a missing value, a value that looks like an option, a repeated
/// option, a mode or number that does not parse), so that ArgumentParser parses that call
/// and explains any error exactly as it does for every other command. The options are
/// declared once, in `Check` and `Hook`; `AgentCallArgumentsTests` holds both readings equal.
enum AgentCallArguments {
    static func check(_ arguments: [String]) -> CheckRun? {
        guard let words = read(arguments, values: checkOptions, flags: ["json"]),
            words.positionals.isEmpty,
            let agent = agentSettings(words.values)
        else { return nil }
        return CheckRun(global: globalSettings(words.values), agent: agent, command: words.values["command"], json: words.flags.contains("json"))
    }

    static func hook(_ arguments: [String]) -> HookRun? {
        guard let words = read(arguments, values: hookOptions, flags: ["allow-explicit"]),
            words.positionals.count == 1,
            let client = AgentClient(rawValue: words.positionals[0]),
            let agent = agentSettings(words.values)
        else { return nil }
        var hold = Hook.defaultHold
        if let text = words.values["hold"] {
            guard let seconds = Double(text), Hook.holdLimits.contains(seconds) else { return nil }
            hold = seconds
        }
        return HookRun(global: globalSettings(words.values), agent: agent, client: client, hold: hold, allowExplicit: words.flags.contains("allow-explicit"))
    }

    /// `GlobalOptions` and `AgentOptions` by their long names, then each command's own.
    static let sharedOptions: Set<String> = ["queue", "socket", "audit", "policy", "env", "agent", "agent-mode"]
    static let checkOptions = sharedOptions.union(["command"])
    static let hookOptions = sharedOptions.union(["hold"])

    static func globalSettings(_ values: [String: String]) -> GlobalSettings {
        GlobalSettings(queue: values["queue"], socket: values["socket"], audit: values["audit"], policy: values["policy"])
    }

    static func agentSettings(_ values: [String: String]) -> AgentSettings? {
        var mode: AgentMode?
        if let text = values["agent-mode"] {
            guard let parsed = AgentMode(rawValue: text) else { return nil }
            mode = parsed
        }
        return AgentSettings(env: values["env"], agent: values["agent"], agentMode: mode)
    }

    struct Words {
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var positionals: [String] = []
    }

    static func read(_ arguments: [String], values: Set<String>, flags: Set<String>) -> Words? {
        var words = Words()
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            guard word.hasPrefix("-") else {
                words.positionals.append(word)
                continue
            }
            guard word.hasPrefix("--"), word.count > 2 else { return nil }  // -h, clusters, "-", "--"
            let body = word.dropFirst(2)
            let name: String
            let value: String
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
                guard values.contains(name) else { return nil }
            } else if flags.contains(String(body)) {
                guard words.flags.insert(String(body)).inserted else { return nil }
                continue
            } else {
                name = String(body)
                guard values.contains(name), index < arguments.count else { return nil }
                value = arguments[index]
                index += 1
            }
            guard !value.isEmpty, !value.hasPrefix("-"), words.values[name] == nil else { return nil }
            words.values[name] = value
        }
        return words
    }
}
