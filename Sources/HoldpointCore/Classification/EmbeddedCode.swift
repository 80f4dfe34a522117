/// Programs that run code given in their own options or scripts: `git -c
/// core.sshCommand=…`, `ssh -o ProxyCommand=…`, `tar --to-command=…`, `vim -c '!…'`,
/// `awk 'BEGIN{system(…)}'`, `sed '1e …'`, `find -fprint FILE`. What they would run is
/// handed back to the shell analysis; what cannot be read is unknown.
enum EmbeddedCode {
    enum Part {
        /// A command line the program runs.
        case shell(String)
        /// Something the program does that a rule would not see.
        case finding(rule: String, message: String, effect: RuleEffect)
    }

    /// The programs read here, by how: one dictionary lookup per command rather than a
    /// string `switch` that compares the name with every case.
    static let readers: [String: @Sendable ([ShellWord]) -> [Part]] = {
        var table: [String: @Sendable ([ShellWord]) -> [Part]] = ["git": git, "rsync": rsync, "find": find]
        for name in ["ssh", "scp", "sftp"] { table[name] = sshOptions }
        for name in ["tar", "gtar", "bsdtar"] { table[name] = tar }
        for name in ["vim", "vi", "nvim", "ex", "view", "gvim", "vimdiff"] { table[name] = vim }
        for name in ["awk", "gawk", "mawk", "nawk"] { table[name] = awk }
        for name in ["sed", "gsed"] { table[name] = sed }
        table["ansible"] = ansible
        table["gcloud"] = remoteCommand(verb: "ssh", options: ["--command"])
        table["az"] = remoteCommand(verb: "invoke", options: ["--scripts"])
        return table
    }()

    static func parts(program: String, args: [ShellWord]) -> [Part] {
        guard !args.isEmpty, let read = readers[program] else { return [] }
        return read(args)
    }

    static func unknown(_ rule: String, _ message: String) -> Part {
        .finding(rule: rule, message: message, effect: RuleEffect(operationClass: .unknown))
    }

    /// `value` of `--name=value`, `--name value`, `-Xvalue` or `-X value` for the option
    /// spellings given; every occurrence.
    static func optionValues(_ args: [ShellWord], _ names: [String]) -> [ShellWord] {
        var out: [ShellWord] = []
        var i = 0
        while i < args.count {
            let text = args[i].text
            if text == "--" { break }
            for name in names {
                if text == name, i + 1 < args.count {
                    out.append(args[i + 1])
                } else if name.hasPrefix("--"), text.hasPrefix(name + "=") {
                    out.append(ShellWord(text: String(text.dropFirst(name.count + 1)), isDynamic: args[i].isDynamic))
                } else if !name.hasPrefix("--"), name.count == 2, text.count > 2, text.hasPrefix(name), !text.hasPrefix("--") {
                    out.append(ShellWord(text: String(text.dropFirst(2)), isDynamic: args[i].isDynamic))
                }
            }
            i += 1
        }
        return out
    }

    static func code(_ word: ShellWord, _ what: String) -> [Part] {
        word.isDynamic ? [unknown("embedded-code-dynamic", "\(what) runs a command only known at run time")] : [.shell(word.text)]
    }

    // MARK: - git

    /// Configuration keys whose value git runs as a command.
    static let gitCommandKeys: Set<String> = [
        "core.fsmonitor", "core.sshcommand", "core.pager", "core.editor", "core.askpass", "core.gitproxy",
        "sequence.editor", "diff.external", "gpg.program", "gpg.ssh.program", "gpg.x509.program",
        "uploadpack.packobjectshook", "credential.helper", "pager.log", "pager.diff", "pager.show",
    ]

    static func git(_ args: [ShellWord]) -> [Part] {
        var out: [Part] = []
        func setting(_ pair: ShellWord) {
            guard let eq = pair.text.firstIndex(of: "=") else { return }
            out += gitValue(key: String(pair.text[..<eq]).lowercased(), value: ShellWord(text: String(pair.text[pair.text.index(after: eq)...]), isDynamic: pair.isDynamic))
        }
        // Global options before the subcommand: `-c key=value`, `--config-env=key=VAR`.
        var i = 0
        while i < args.count, args[i].text.hasPrefix("-") {
            let text = args[i].text
            if text == "-c", i + 1 < args.count {
                setting(args[i + 1])
                i += 2
                continue
            }
            if text.hasPrefix("-c"), text.count > 2, !text.hasPrefix("--") { setting(ShellWord(text: String(text.dropFirst(2)), isDynamic: args[i].isDynamic)) }
            if text.hasPrefix("--config-env") {
                let key = text.split(separator: "=").dropFirst().first.map { String($0).lowercased() } ?? ""
                if isGitCommandKey(key) { out.append(unknown("git-config-command", "git runs the command in an environment variable (\(text))")) }
            }
            if ["-C", "--git-dir", "--work-tree", "--namespace", "--exec-path"].contains(text) {
                i += 2
                continue
            }
            i += 1
        }
        // `git submodule foreach CMD`, `git bisect run CMD`, `git rebase --exec CMD`: git runs CMD.
        if i + 2 < args.count, (args[i].text == "submodule" && args[i + 1].text == "foreach") || (args[i].text == "bisect" && args[i + 1].text == "run") {
            let command = args[(i + 2)...].filter { !$0.text.hasPrefix("--") }
            if command.count == 1, let only = command.first {
                out += code(only, "git \(args[i].text)")
            } else {
                out.append(.shell(command.map { ShellAnalyzer.quote($0.text) }.joined(separator: " ")))
            }
        }
        for command in optionValues(args, ["--exec", "-x"]) where i < args.count && args[i].text == "rebase" { out += code(command, "git rebase --exec") }
        // `git difftool -x CMD`: CMD is run for every changed file.
        for command in optionValues(args, ["--extcmd", "-x"]) where i < args.count && args[i].text == "difftool" { out += code(command, "git difftool --extcmd") }
        // `git config [--global] key value`: the command is stored, to run later.
        if i < args.count, args[i].text == "config" {
            let rest = args[(i + 1)...].filter { !$0.text.hasPrefix("-") }
            if rest.count >= 2 { out += gitValue(key: rest[rest.startIndex].text.lowercased(), value: rest[rest.startIndex + 1]) }
        }
        return out
    }

    static func isGitCommandKey(_ key: String) -> Bool {
        gitCommandKeys.contains(key) || key.hasPrefix("alias.") || key.hasPrefix("filter.") || (key.hasPrefix("diff.") && key.hasSuffix(".textconv"))
            || (key.hasPrefix("merge.") && key.hasSuffix(".driver")) || key.hasPrefix("pager.") || key == "core.hookspath"
            || ((key.hasPrefix("difftool.") || key.hasPrefix("mergetool.")) && key.hasSuffix(".cmd")) || (key.hasPrefix("diff.") && key.hasSuffix(".command"))
    }

    static func gitValue(key: String, value: ShellWord) -> [Part] {
        guard isGitCommandKey(key) else { return [] }
        if key == "core.hookspath" { return [unknown("git-config-command", "git runs hooks from \(value.text)")] }
        if key.hasPrefix("alias.") || key == "credential.helper" {
            // Only `!…` runs a shell command; otherwise it names git's own subcommand or helper.
            guard value.text.hasPrefix("!") else { return [] }
            return code(ShellWord(text: String(value.text.dropFirst()), isDynamic: value.isDynamic), "git \(key)")
        }
        return code(value, "git \(key)")
    }

    // MARK: - ssh, rsync

    /// ssh options whose value runs a local command (or the remote one).
    static let sshCommandOptions: Set<String> = ["proxycommand", "localcommand", "knownhostscommand", "remotecommand", "match"]

    static func sshOptions(_ args: [ShellWord]) -> [Part] {
        var out: [Part] = []
        for option in optionValues(args, ["-o"]) {
            // `Key=value` or `Key value`.
            let text = option.text
            let split = text.firstIndex(where: { $0 == "=" || $0 == " " }) ?? text.endIndex
            let key = text[..<split].lowercased()
            guard sshCommandOptions.contains(key), split < text.endIndex else { continue }
            var value = String(text[text.index(after: split)...])
            if key == "match" {
                guard let exec = value.range(of: "exec ") else { continue }
                value = String(value[exec.upperBound...])
            }
            out += code(ShellWord(text: value, isDynamic: option.isDynamic), "ssh -o \(text[..<split])")
        }
        return out
    }

    static func rsync(_ args: [ShellWord]) -> [Part] {
        var out: [Part] = []
        for shell in optionValues(args, ["-e", "--rsh", "--rsync-path"]) { out += code(shell, "rsync's remote shell") }
        return out
    }

    // MARK: - tar

    static func tar(_ args: [ShellWord]) -> [Part] {
        var out: [Part] = []
        for command in optionValues(args, ["--to-command", "--use-compress-program", "-I", "--info-script", "--new-volume-script", "-F"]) {
            out += code(command, "tar")
        }
        for action in optionValues(args, ["--checkpoint-action"]) where action.text.hasPrefix("exec=") {
            out += code(ShellWord(text: String(action.text.dropFirst(5)), isDynamic: action.isDynamic), "tar --checkpoint-action")
        }
        return out
    }

    // MARK: - vim

    static func vim(_ args: [ShellWord]) -> [Part] {
        var commands = optionValues(args, ["-c", "--cmd"])
        commands += args.filter { $0.text.hasPrefix("+") && $0.text.count > 1 }.map { ShellWord(text: String($0.text.dropFirst()), isDynamic: $0.isDynamic) }
        var out: [Part] = []
        for command in commands {
            // `:!cmd`, `!cmd`, `:r !cmd`, `:w !cmd`, `call system('…')`.
            let text = command.text.drop { $0 == ":" || $0 == " " }
            if let bang = text.firstIndex(of: "!") {
                out += code(ShellWord(text: String(text[text.index(after: bang)...]), isDynamic: command.isDynamic), "vim -c")
            } else if text.contains("system(") || text.hasPrefix("term") || text.hasPrefix("py") || text.hasPrefix("lua") || text.hasPrefix("so") {
                out.append(unknown("embedded-code", "vim runs code given on its command line (\(text.prefix(40)))"))
            }
        }
        if args.contains(where: { $0.text == "-S" || $0.text.hasPrefix("-S") && $0.text.count > 2 }) {
            out.append(unknown("embedded-code", "vim sources a script file Holdpoint cannot see"))
        }
        return out
    }

    // MARK: - awk

    static func awk(_ args: [ShellWord]) -> [Part] {
        var i = 0
        var program: ShellWord?
        var out: [Part] = []
        while i < args.count {
            let text = args[i].text
            if text == "-f" || text.hasPrefix("--file") || (text.hasPrefix("-f") && text.count > 2) {
                return [unknown("embedded-code", "awk runs a program file Holdpoint cannot see")]
            }
            if text == "-F" || text == "-v" || text == "--assign" || text == "--field-separator" {
                i += 2
                continue
            }
            if text == "-e" || text == "--source", i + 1 < args.count {
                program = args[i + 1]
                break
            }
            if text == "--" {
                i += 1
                program = i < args.count ? args[i] : nil
                break
            }
            if text.hasPrefix("-"), text.count > 1 {
                i += 1
                continue
            }
            program = args[i]
            break
        }
        guard let program else { return [] }
        if program.isDynamic { return [unknown("embedded-code-dynamic", "awk runs a program only known at run time")] }
        let bytes = Array(program.text.utf8)
        for start in OneLinerScanner.occurrences(of: Array("system(".utf8), in: bytes) {
            switch OneLinerScanner.firstArgument(bytes, from: start + 7) {
            case .string(let command): out.append(.shell(command))
            default: out.append(unknown("embedded-code", "awk's system() runs a command built at run time"))
            }
        }
        // `print | "cmd"`, `"cmd" | getline`, `|&` coprocesses: commands awk runs.
        var k = 0
        while k < bytes.count {
            if bytes[k] == UInt8(ascii: "|"), k + 1 >= bytes.count || bytes[k + 1] != UInt8(ascii: "|"), k == 0 || bytes[k - 1] != UInt8(ascii: "|") {
                out.append(unknown("embedded-code", "awk pipes to or from a command"))
                break
            }
            k += 1
        }
        if program.text.contains("> \"") || program.text.contains(">\"") || program.text.contains(">> \"") {
            out.append(.finding(rule: "awk-write", message: "awk writes a file", effect: RuleEffect(operationClass: .patch)))
        }
        return out
    }

    // MARK: - sed

    // MARK: - Commands run on cloud machines

    /// `gcloud compute ssh VM --command 'CMD'`, `az vm run-command invoke --scripts 'CMD'`: CMD
    /// runs on the machine and is classified as if typed there. (Without the option the
    /// command opens a shell, which the rule packs hold.)
    static func remoteCommand(verb: String, options: [String]) -> @Sendable ([ShellWord]) -> [Part] {
        { args in
            guard args.lazy.filter({ !$0.text.hasPrefix("-") }).prefix(4).contains(where: { $0.text == verb }) else { return [] }
            return optionValues(args, options).flatMap { code($0, "\(verb) \(options[0])") }
        }
    }

    // MARK: - ansible

    /// The modules whose `-a` is a command line run on every host: `command` (the default
    /// when no `-m` is given), `shell` and `raw`.
    static let ansibleCommandModules: Set<String> = ["command", "shell", "raw", "ansible.builtin.command", "ansible.builtin.shell", "ansible.builtin.raw"]

    /// `ansible HOSTS -m shell -a "rm -rf /tmp/*"`: the command each host runs. Other
    /// modules are the rule pack's business (services.yaml).
    static func ansible(_ args: [ShellWord]) -> [Part] {
        let module = optionValues(args, ["-m", "--module-name"]).last
        if let module, module.isDynamic { return [unknown("ansible-module-dynamic", "runs an Ansible module only known at run time")] }
        guard ansibleCommandModules.contains(module?.text ?? "command"), let command = optionValues(args, ["-a", "--args"]).last else { return [] }
        return code(command, "ansible's \(module?.text ?? "command") module")
    }

    static func sed(_ args: [ShellWord]) -> [Part] {
        var scripts = optionValues(args, ["-e", "--expression"])
        if args.contains(where: { $0.text == "-f" || $0.text.hasPrefix("--file") }) {
            return [unknown("embedded-code", "sed runs a script file Holdpoint cannot see")]
        }
        if scripts.isEmpty, let first = args.first(where: { !$0.text.hasPrefix("-") }) { scripts = [first] }
        var out: [Part] = []
        for script in scripts {
            if script.isDynamic {
                out.append(unknown("embedded-code-dynamic", "sed runs a script only known at run time"))
                continue
            }
            for raw in script.text.split(whereSeparator: { $0 == "\n" || $0 == ";" }) {
                var command = Substring(raw).drop { $0 == " " || $0 == "\t" }
                // The address: line numbers, `$`, `/regex/`, ranges, `!`.
                while let c = command.first, c.isNumber || c == "$" || c == "," || c == "!" || c == " " || c == "~" || c == "+" {
                    command = command.dropFirst()
                }
                if command.first == "/" {
                    if let close = command.dropFirst().firstIndex(of: "/") { command = command[command.index(after: close)...].drop { $0 == " " || $0 == "!" } }
                }
                guard let verb = command.first else { continue }
                let rest = command.dropFirst()
                if verb == "e" && (rest.isEmpty || rest.first == " ") {
                    let line = rest.drop { $0 == " " }
                    out.append(line.isEmpty ? unknown("embedded-code", "sed's e command runs the pattern space as a command") : .shell(String(line)))
                } else if (verb == "w" || verb == "W") && rest.first == " " {
                    out.append(.finding(rule: "sed-write", message: "sed writes the file \(rest.drop { $0 == " " })", effect: RuleEffect(operationClass: .patch)))
                } else if verb == "s", let delimiter = rest.first {
                    let parts = rest.dropFirst().split(separator: delimiter, maxSplits: 2, omittingEmptySubsequences: false)
                    if parts.count == 3 {
                        let flags = parts[2]
                        if flags.contains("e") { out.append(unknown("embedded-code", "sed's s///e runs the result as a command")) }
                        if let w = flags.firstIndex(of: "w") {
                            out.append(.finding(rule: "sed-write", message: "sed writes the file \(flags[flags.index(after: w)...].drop { $0 == " " })", effect: RuleEffect(operationClass: .patch)))
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: - find

    static func find(_ args: [ShellWord]) -> [Part] {
        var out: [Part] = []
        for (i, arg) in args.enumerated() where ["-fprint", "-fprint0", "-fprintf", "-fls"].contains(arg.text) {
            let file = i + 1 < args.count ? args[i + 1].text : "?"
            out.append(.finding(rule: "find-write", message: "find writes the file \(file) (\(arg.text))", effect: RuleEffect(operationClass: .patch)))
            if SensitivePaths.isPersistence(file) {
                let persistence = SensitivePaths.persistenceWrite(file)
                out.append(.finding(rule: persistence.rule, message: persistence.message, effect: persistence.effect))
            }
        }
        return out
    }
}
