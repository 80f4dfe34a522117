import Foundation

/// The tasks a project defines for its own build: a Makefile's targets, `package.json`'s
/// scripts. Running one runs the command lines written there, which can be read and
/// classified like any other.
struct ProjectTasks {
    /// What is run, for messages: "make target test", "npm script test".
    var what: String
    /// The file that defines it (relative to the working directory unless absolute).
    var file: String
    /// The names of the targets or scripts run (empty: the Makefile's default).
    var names: [String] = []
    /// The command lines the task runs, from the file's text; nil when the file does not
    /// define it.
    var lines: (String) -> [String]?
    /// The file was named on the command line (`make -f FILE`) rather than found by convention.
    var fileNamed = false
    /// Variables set on the command line (`make CC=clang test`), which recipes expand.
    var overrides: [(name: String, value: String)] = []

    /// Make variables whose value recipes run as a program (`$(CC) …`, `$(RM) …`): set on
    /// the command line, the value runs in place of the project's.
    static let programVariables: Set<String> = [
        "CC", "CXX", "CPP", "LD", "AR", "AS", "RM", "CP", "MV", "INSTALL", "MAKE", "PYTHON", "PERL", "RUBY", "NODE", "NPM", "GO", "CARGO", "DOCKER", "KUBECTL", "HELM", "TERRAFORM",
        "SH", "BASH", "FC", "RANLIB", "STRIP", "OBJCOPY", "LEX", "YACC", "CMAKE", "JAVA", "JAVAC", "MVN", "GRADLE", "PIP", "UV", "TAR", "CURL", "SED", "AWK",
    ]

    /// Words that, in a task's name, say it reaches beyond the project: what `make deploy`
    /// does cannot be guessed as harmless when its recipe cannot be read.
    static let farReachingWords = [
        "deploy", "release", "publish", "destroy", "teardown", "tear-down", "prod", "rollout", "rollback", "migrat", "upload", "push", "drop", "reset", "purge", "nuke", "delete",
        "wipe", "apply", "provision", "terraform", "ship", "promote", "install",
    ]

    /// Whether a task's name says it deploys, releases, migrates or destroys.
    var soundsFarReaching: Bool {
        names.contains { name in
            let lower = name.lowercased()
            return lower == "down" || Self.farReachingWords.contains { lower.contains($0) }
        }
    }

    /// `make -n` prints the recipes instead of running them.
    static func isDryRun(program: String, args: [ShellWord]) -> Bool {
        guard program == "make" || program == "gmake" else { return false }
        return args.contains { ["-n", "--dry-run", "--just-print", "--recon"].contains($0.text) }
    }

    static func task(program: String, args: [ShellWord]) -> ProjectTasks? {
        switch program {
        case "make", "gmake": return make(args)
        case "npm", "yarn", "pnpm", "bun": return script(program, args)
        default: return nil
        }
    }

    static func make(_ args: [ShellWord]) -> ProjectTasks? {
        var directory = ""
        var file: String?
        var targets: [String] = []
        var overrides: [(name: String, value: String)] = []
        var i = 0
        while i < args.count {
            let text = args[i].text
            if text == "-C" || text == "--directory", i + 1 < args.count {
                directory = args[i + 1].text + "/"
                i += 2
                continue
            }
            if text == "-f" || text == "--file" || text == "--makefile", i + 1 < args.count {
                file = args[i + 1].text
                i += 2
                continue
            }
            if text == "-j" || text == "-l" {
                i += i + 1 < args.count && args[i + 1].text.first?.isNumber == true ? 2 : 1
                continue
            }
            if text == "-o" || text == "-W" {
                i += 2
                continue
            }
            if !text.hasPrefix("-"), let eq = text.firstIndex(of: "="), eq != text.startIndex {
                // `NAME=value`, `NAME:=value`, `NAME+=value`, `NAME?=value`.
                let name = text[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ":+?!"))
                overrides.append((name, String(text[text.index(after: eq)...])))
            } else if !text.hasPrefix("-") {
                targets.append(text)
            }
            i += 1
        }
        if args.contains(where: \.isDynamic) { return nil }
        let path = file.map { $0.hasPrefix("/") ? $0 : directory + $0 } ?? directory + "Makefile"
        var task = ProjectTasks(what: "make target\(targets.count == 1 ? "" : "s") \(targets.isEmpty ? "(the default)" : targets.joined(separator: ", "))", file: path, names: targets) { text in
            recipes(in: text, targets: targets)
        }
        task.fileNamed = file != nil
        task.overrides = overrides
        return task
    }

    /// The recipe lines of `targets` (the first target when none is named), `@`, `-` and
    /// `+` prefixes dropped; nil when a target is not in the file.
    static func recipes(in makefile: String, targets: [String]) -> [String]? {
        let lines = makefile.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var recipes: [String: [String]] = [:]
        var order: [String] = []
        var current: [String] = []
        for line in lines {
            if line.hasPrefix("\t") {
                var command = line.dropFirst().drop { $0 == " " }
                while let c = command.first, c == "@" || c == "-" || c == "+" { command = command.dropFirst() }
                for target in current { recipes[target, default: []].append(String(command)) }
                continue
            }
            guard !line.hasPrefix("#"), !line.hasPrefix(" "), let colon = line.firstIndex(of: ":"),
                !line[line.index(after: colon)...].hasPrefix("=")
            else {
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { current = [] }
                continue
            }
            current = line[..<colon].split(separator: " ").map(String.init).filter { !$0.hasPrefix(".") && !$0.contains("%") && !$0.contains("$") }
            for target in current where recipes[target] == nil {
                recipes[target] = []
                order.append(target)
            }
        }
        let wanted = targets.isEmpty ? Array(order.prefix(1)) : targets
        var out: [String] = []
        for target in wanted {
            guard let recipe = recipes[target] else { return nil }
            out += recipe.filter { !$0.isEmpty }
        }
        return out
    }

    static func script(_ program: String, _ args: [ShellWord]) -> ProjectTasks? {
        guard let first = args.first, !first.isDynamic else { return nil }
        let name: String
        switch first.text {
        case "test", "t", "tst", "start", "stop", "restart": name = first.text == "t" || first.text == "tst" ? "test" : first.text
        case "run", "run-script":
            guard args.count >= 2, !args[1].isDynamic else { return nil }
            name = args[1].text
        default:
            // `yarn lint`, `pnpm build`: a script name as the subcommand.
            guard program != "npm", !first.text.hasPrefix("-"),
                ![
                    "install", "add", "remove", "upgrade", "up", "update", "dlx", "exec", "x", "create", "init", "publish", "link", "unlink", "global", "config", "set", "cache", "audit", "info",
                    "why", "list", "ls", "outdated", "pack", "login", "logout", "patch", "rebuild", "import", "i", "ci", "uninstall", "rm", "prune",
                ].contains(first.text)
            else { return nil }
            name = first.text
        }
        return ProjectTasks(what: "\(program) script \(name)", file: "package.json", names: [name]) { text in
            guard let document = try? JSONReader.parse(Array(text.utf8)), let scripts = document["scripts"] else { return nil }
            guard scripts[name]?.stringValue != nil else { return nil }
            // npm runs `preNAME` and `postNAME` around it when they exist.
            return ["pre" + name, name, "post" + name].compactMap { scripts[$0]?.stringValue }
        }
    }
}
