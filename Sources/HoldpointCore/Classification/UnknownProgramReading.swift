/// What a command of a program no rule knows does, read from its sub-command words: most
/// command-line tools name the action (`doctl compute droplet list`, `gh pr view 42`,
/// `flyctl status`). A command whose leading words include a verb that only reads, with no
/// word of change among them, in its flags or in any statement it passes (a word with
/// spaces), and no word of secrets anywhere, is taken as a read, supervised (it runs, and
/// is logged and spot-checked, rather than trusted as a known read). Anything else stays
/// unknown (gated in production).
///
/// Only programs called by a plain name are read this way: a path (`./tool list`) is a
/// program the agent may have just written, and the shell analysis already holds lines
/// that define functions or change `PATH`.
///
/// The words are data, from the packs' `command_words` (operations.yaml) and the verbs of
/// `operation_verbs` that are not reads.
struct UnknownProgramReading: Sendable {
    static let wordKinds: Set<String> = ["read", "change", "change_flags", "sensitive"]

    /// Verbs that only read: list, status, show, logs.
    var read: Set<String> = []
    /// Words of change among the leading words: delete, apply, exec, run.
    var change: Set<String> = []
    /// Words of change in an option: --force, --yes, --fix.
    var changeFlags: Set<String> = []
    /// Words of secrets anywhere: secret, token, password, config, env.
    var sensitive: Set<String> = []

    /// Options that every tool answers by printing and exiting.
    static let helpOrVersion: Set<String> = ["--help", "-h", "-help", "--version", "-V", "-version", "--usage"]

    /// How many leading words may hold the verb (`doctl compute droplet list`).
    static let leadingWords = 4

    mutating func add(_ words: [String: Set<String>]) {
        read.formUnion(words["read"] ?? [])
        change.formUnion(words["change"] ?? [])
        changeFlags.formUnion(words["change_flags"] ?? [])
        sensitive.formUnion(words["sensitive"] ?? [])
    }

    /// The finding for `program args` when its words say it reads; nil when they do not.
    func reading(program: String, args: [ShellWord], subject: Subject) -> Finding? {
        guard !read.isEmpty, Self.isPlainWord(program) else { return nil }
        if !args.isEmpty, args.allSatisfy({ Self.helpOrVersion.contains($0.text) }) {
            return Finding(
                rule: "unknown-program-read-verb", message: "no rule knows '\(program)'; it is asked only for its help or version",
                effect: RuleEffect(operationClass: .read, tier: .supervised), subject: subject)
        }
        var leading = 0
        var collecting = true
        var verb: String?
        for word in args {
            let text = word.text
            if text == "--" { return nil }  // what follows is another program's, or raw input
            if word.isDynamic {
                if collecting && verb == nil { return nil }
                continue
            }
            let parts = Self.parts(text)
            if parts.contains(where: sensitive.contains) { return nil }
            // A statement passed as one word (`bq query 'DELETE FROM …'`, `tool run-query
            // --sql="DROP …"`): its words of change count wherever it stands.
            if text.utf8.contains(where: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 }), parts.contains(where: change.contains) { return nil }
            if text.utf8.first == UInt8(ascii: "-") {
                if text.contains("dry-run") || text.contains("dryrun") { continue }
                if parts.contains(where: changeFlags.contains) { return nil }
                continue
            }
            guard collecting, verb == nil else { continue }
            guard leading < Self.leadingWords, Self.isPlainWord(text) else {
                collecting = false
                continue
            }
            leading += 1
            if parts.contains(where: change.contains) { return nil }
            verb = parts.first(where: read.contains)
        }
        guard let verb else { return nil }
        return Finding(
            rule: "unknown-program-read-verb", message: "no rule knows '\(program)'; its sub-command word '\(verb)' only reads",
            effect: RuleEffect(operationClass: .read, tier: .supervised), subject: subject)
    }

    /// A lower-case word of letters, digits and `-_.:` that starts with a letter: a program
    /// or sub-command name, not a path, value or pattern.
    static func isPlainWord(_ text: String) -> Bool {
        guard let first = text.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        return text.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")
        }
    }

    /// The lower-cased runs of letters in `text`: `--show-secrets` → show, secrets;
    /// `projects:list` → projects, list.
    static func parts(_ text: String) -> [String] {
        var out: [String] = []
        var current: [UInt8] = []
        for byte in text.utf8 {
            let lower = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
            if lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z") {
                current.append(lower)
            } else if !current.isEmpty {
                out.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
        return out
    }
}
