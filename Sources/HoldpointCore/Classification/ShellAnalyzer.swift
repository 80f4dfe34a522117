import Foundation

/// Finds what a shell command line really runs and what the rule packs say about it.
///
/// Agents (and prompt injections) wrap commands: `sudo env FOO=1 timeout 5 bash -lc
/// "rm -rf /"`. The analyzer peels wrappers until it reaches the program that acts,
/// follows nested shells, `eval`, `ssh host CMD`, `find -exec`, `xargs` and one-liners
/// in Python, Node, Perl and Ruby, and reads SQL given to database clients.
struct ShellAnalyzer {
    let rules: RuleSet
    var protection: SelfProtection = .none
    /// Where the command line runs, for relative paths.
    var cwd: String?
    /// The line moved (`cd "$DIR"`, `cd repo` with no known start) to a directory not known
    /// here: a file named relative to it (a Makefile, `./deploy.sh`) is not the one beside
    /// the request, so it is not read.
    var movedSomewhereUnknown = false
    /// What the line may ask of the file system, shared by every level of its analysis.
    let fileSystem = FileSystemBudget()
    static let maximumDepth = 12
    /// Past this many findings a command line is not analysed further: it is `unknown`
    /// (gated in production). Keeps every input up to the 1 MiB limit in bounded time.
    static let maximumFindings = 2_000
    /// One-liner code (`python -c`, `node -e`, …) longer than this is unknown, not read.
    static let maximumOneLiner = 65_536

    func analyze(_ line: String) -> [Finding] {
        var findings: [Finding] = []
        analyze(line: line, depth: 0, into: &findings)
        if let shortfall = fileSystem.shortfall {
            findings.append(.unknown("shell-too-many-files", shortfall, subject: "(\(line.utf8.count) bytes)"))
        }
        return findings
    }

    private func analyze(line: String, depth: Int, into findings: inout [Finding]) {
        guard depth <= Self.maximumDepth else {
            findings.append(.unknown("shell-too-deep", "commands nested more than \(Self.maximumDepth) levels deep", subject: line))
            return
        }
        let script = ShellParser.parse(line)
        // Each path pattern (`/e*/shadow`) is checked against the credential files, at
        // microseconds apiece: past a line's budget the line is unknown, and is analysed
        // without them (bounded time for any input).
        if PathGlob.isEnabled, PathGlob.hasMeta(Substring(line)) {
            let patterns = script.commands.reduce(0) { count, command in count + command.words.count { PathGlob.isPathPattern($0.text) } }
            if patterns > PathGlob.budget {
                findings.append(.unknown("shell-too-many-patterns", "\(patterns) path patterns: too many to check which files they name", subject: "(\(patterns) patterns)"))
                PathGlob.$isEnabled.withValue(false) { analyze(script, line: line, depth: depth, into: &findings) }
                return
            }
        }
        analyze(script, line: line, depth: depth, into: &findings)
    }

    /// The findings for a parsed line.
    private func analyze(_ script: ShellScript, line: String, depth: Int, into findings: inout [Finding]) {
        var changedDirectory: String?
        for problem in script.problems {
            findings.append(.unknown("shell-unparsed", "the command line could not be fully understood: \(problem)", subject: line))
        }
        for name in script.definedFunctions where SelfProtection.basenameIsHoldpoint(name) {
            // `holdpoint() { :; }` in a shell that keeps its state: the gate's name would run the body.
            findings.append(SelfProtection.blocked("holdpoint-redefined", "redefines holdpoint as a shell function: the gate would stop being called", subject: name))
        }
        if script.commands.isEmpty && script.problems.isEmpty && !line.allSatisfy({ $0.isWhitespace }) {
            findings.append(.unknown("shell-empty", "no command found", subject: line))
        }
        if script.commands.count > Self.maximumFindings {
            findings.append(.unknown("shell-too-large", "\(script.commands.count) commands: too many to analyse", subject: "(\(script.commands.count) commands)"))
            return
        }
        // What runs after `cd DIR` runs there: files it names are read from DIR.
        var moved: ShellAnalyzer?
        // Variables set to a known path earlier in the line (`f=~/.aws/credentials; cat $f`).
        var paths: [String: String] = [:]
        for (index, command) in script.commands.enumerated() {
            if findings.count > Self.maximumFindings {
                if !findings.contains(where: { $0.rule == "shell-too-large" }) {
                    findings.append(.unknown("shell-too-large", "more than \(Self.maximumFindings) things to check: too large to analyse", subject: "(\(script.commands.count) commands)"))
                }
                return
            }
            checkPrintedVariables(command, in: script.commands, at: index, depth: depth, into: &findings)
            checkDataLeavingHost(command, in: script.commands, at: index, into: &findings)
            checkCredentialsListedAndRead(command, in: script.commands, at: index, into: &findings)
            Self.remember(command, in: &paths)
            checkSpelledOutPaths(command.words, variables: paths, into: &findings)
            if let directory = changedDirectory { checkPaths(command.words, in: directory, into: &findings) }
            if let first = command.words.first, first.text == "cd" || first.text == "pushd" {
                changedDirectory = Self.directory(after: command.words, from: changedDirectory)
                var here = moved ?? self
                here.moved(to: changedDirectory ?? Self.directory(after: command.words, from: cwd ?? protection.workingDirectory))
                moved = here
            }
            if let moved {
                moved.analyze(command: command, words: command.words, script: script, depth: depth, into: &findings)
            } else {
                analyze(command: command, words: command.words, script: script, depth: depth, into: &findings)
            }
        }
    }

    // MARK: - Directories changed

    /// After `cd`: files are read from `directory`, or not at all when it is not known.
    private mutating func moved(to directory: String?) {
        if let directory, case let path = PathText.normalize(directory, relativeTo: nil, home: protection.homeDirectory), path.hasPrefix("/") {
            cwd = path
        } else {
            movedSomewhereUnknown = true
        }
    }

    /// A file the command names (a script, a Makefile), read to classify what it runs; nil
    /// when it cannot be read or is not the file the command will find (see
    /// `movedSomewhereUnknown`).
    private func projectFile(_ path: String) -> String? {
        if movedSomewhereUnknown, !path.hasPrefix("/"), !path.hasPrefix("~") { return nil }
        return protection.scriptText(path, cwd: cwd, budget: fileSystem)
    }

    /// Where `cd DIR` or `pushd DIR` leaves the rest of the line, when DIR is known: absolute,
    /// under home (`~`), or relative to an earlier `cd` in the line. Nil when not known.
    static func directory(after words: [ShellWord], from current: String?) -> String? {
        let operands = words.dropFirst().filter { !$0.text.hasPrefix("-") || $0.text == "-" }
        guard let target = operands.first, !target.isDynamic, target.text != "-" else { return operands.isEmpty ? "~" : nil }
        if target.text.hasPrefix("/") || target.text.hasPrefix("~") { return target.text }
        return current.map { $0 + "/" + target.text }
    }

    /// After `cd /etc`, `cat shadow` reads `/etc/shadow`: relative operands are checked for
    /// credentials against the directory the line moved to (the working directory the
    /// request names is the classifier's business).
    private func checkPaths(_ words: [ShellWord], in directory: String, into findings: inout [Finding]) {
        guard let first = words.first, !first.isDynamic, first.text != "cd", first.text != "pushd" else { return }
        // Most lines name nothing that is a credential where they moved to: each relative
        // operand is asked once, and the program's own rules (which operands it reads) only
        // when one is.
        var moved = false
        let program = Self.basename(first.text)
        let readsTrees = SensitivePaths.treeReaders.contains(program)
        let resolved = words.dropFirst().map { word -> ShellWord in
            let text = word.text
            guard !word.isDynamic, !text.isEmpty, !text.hasPrefix("-"), !text.hasPrefix("/"), !text.hasPrefix("~"), !text.containsASCII("=") else { return word }
            let relative = text == "." ? "" : text.hasPrefix("./") ? String(text.dropFirst(2)) : text
            let path = relative.isEmpty ? directory : directory + "/" + relative
            guard SensitivePaths.isCredential(path) || (readsTrees && SensitivePaths.isCredentialDirectory(Substring(path))) else { return word }
            moved = true
            return ShellWord(text: path)
        }
        guard moved else { return }
        Self.credentialReads(program: program, as: Array(words.dropFirst()), resolved: resolved, into: &findings)
    }

    /// The credential reads that `args` with some operands resolved (`resolved`) has and
    /// `args` as written did not: what the resolution found.
    static func credentialReads(program: String, as args: [ShellWord], resolved: [ShellWord], into findings: inout [Finding]) {
        let before = Set(SensitivePaths.findings(program: program, args: args).map(\.subject))
        for finding in SensitivePaths.findings(program: program, args: resolved) where finding.rule == "credential-read" && !before.contains(finding.subject) {
            findings.append(finding)
        }
    }

    // MARK: - Paths spelled out in the line

    /// `f=~/.aws/credentials` and `export f=…`: a name for a path written out in full.
    static func remember(_ command: SimpleCommand, in paths: inout [String: String]) {
        var pairs = command.words.isEmpty ? command.assignments.map { ($0.name, $0.value) } : []
        if let first = command.words.first, first.text == "export" || first.text == "declare" || first.text == "local" || first.text == "readonly" {
            for word in command.words.dropFirst() where !word.text.hasPrefix("-") {
                guard let eq = word.text.firstIndex(of: "=") else { continue }
                pairs.append((String(word.text[..<eq]), ShellWord(text: String(word.text[word.text.index(after: eq)...]), isDynamic: word.isDynamic)))
            }
        }
        for (name, value) in pairs {
            if value.isDynamic || value.text.isEmpty { paths[name] = nil } else { paths[name] = value.text }
        }
    }

    /// `cat $f` after `f=~/.aws/credentials`, `cat $(echo ~/.ssh/id_rsa)`: a path only known
    /// at run time that the line spells out (a variable set to it, or a substitution that
    /// prints it) is checked for credentials as if written in place.
    private func checkSpelledOutPaths(_ words: [ShellWord], variables: [String: String], into findings: inout [Finding]) {
        guard let first = words.first, !first.isDynamic, words.count > 1, words.dropFirst().contains(where: \.isDynamic) else { return }
        var replaced = false
        let resolved = words.dropFirst().map { word -> ShellWord in
            guard word.isDynamic, let path = Self.spelledOutPath(word.text, variables: variables) else { return word }
            if SensitivePaths.isCredentialStore(Substring(path)) {
                replaced = true
                return ShellWord(text: (path.hasSuffix("/") ? path : path + "/") + "*")
            }
            guard SensitivePaths.isCredential(path) else { return word }
            replaced = true
            return ShellWord(text: path)
        }
        guard replaced else { return }
        Self.credentialReads(program: Self.basename(first.text), as: Array(words.dropFirst()), resolved: resolved, into: &findings)
    }

    /// Programs whose output, in a substitution, is the path they are given.
    static let pathPrinters: Set<String> = ["echo", "printf", "ls", "realpath", "readlink", "find", "dirname", "basename"]

    /// The path a run-time word stands for when the line spells it out: `$f`, `${f}`,
    /// `"$f"` for a variable set earlier, `$(echo PATH)` or `` `ls PATH` ``. Nil otherwise.
    static func spelledOutPath(_ text: String, variables: [String: String]) -> String? {
        // Most run-time words are variables the line never set (`"$TOKEN"`): turned away by
        // their first bytes, before any string is made.
        var bytes = text.utf8.makeIterator()
        var lead = bytes.next()
        if lead == UInt8(ascii: "\"") { lead = bytes.next() }
        if lead == UInt8(ascii: "$") {
            guard bytes.next() == UInt8(ascii: "(") || !variables.isEmpty else { return nil }
        } else if lead != UInt8(ascii: "`") {
            return nil
        }
        var word = Substring(text)
        if word.count >= 2, word.first == "\"", word.last == "\"" { word = word.dropFirst().dropLast() }
        if word.hasPrefix("$"), !word.hasPrefix("$(") {
            // `$f`, `${f}`, and a path under one: `$D/credentials`.
            let braced = word.hasPrefix("${")
            let name = word.dropFirst(braced ? 2 : 1).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            let rest = word.dropFirst((braced ? 2 : 1) + name.count).dropFirst(braced ? 1 : 0)
            guard let value = variables[String(name)], rest.isEmpty || rest.hasPrefix("/") else { return nil }
            return value + rest
        }
        let inner: Substring
        if word.hasPrefix("$("), word.hasSuffix(")") {
            inner = word.dropFirst(2).dropLast()
        } else if word.count >= 2, word.first == "`", word.last == "`" {
            inner = word.dropFirst().dropLast()
        } else {
            return nil
        }
        let parts = inner.split(separator: " ")
        guard let program = parts.first, pathPrinters.contains(String(program)) else { return nil }
        let quotes = CharacterSet(charactersIn: "'\"")
        return parts.dropFirst().reversed().map { $0.trimmingCharacters(in: quotes) }.first { $0.contains("/") }
    }

    // MARK: - Credentials listed and read

    /// `find ~/.aws -type f | xargs cat`, `ls ~/.ssh | xargs -I{} cat …`: the names of a
    /// directory of credentials handed to a program that runs on each of them.
    private func checkCredentialsListedAndRead(_ command: SimpleCommand, in commands: [SimpleCommand], at index: Int, into findings: inout [Finding]) {
        guard index + 1 < commands.count, commands[index + 1].readsPipe, let first = command.words.first, !first.isDynamic,
            Self.listers.contains(Self.basename(first.text)),
            let directory = command.words.dropFirst().first(where: { !$0.isDynamic && SensitivePaths.isCredentialStore(Substring($0.text)) })
        else { return }
        var next = index + 1
        while next < commands.count, commands[next].readsPipe {
            if let consumer = commands[next].words.first, !consumer.isDynamic, Self.basename(consumer.text) == "xargs" {
                findings.append(SensitivePaths.credentialRead(directory.text + " (each file, through xargs)"))
                return
            }
            next += 1
        }
    }

    /// Programs that print the names of files in a directory.
    static let listers: Set<String> = ["find", "fd", "ls", "tree", "locate"]

    // MARK: - A database sent off the host

    /// Programs that write a whole database to their output when no file is named.
    static let databaseDumpers: [String: [String]] = [
        "pg_dump": ["-f", "--file"], "pg_dumpall": ["-f", "--file"], "mysqldump": ["-r", "--result-file"], "mariadb-dump": ["-r", "--result-file"],
        "mongodump": ["-o", "--out"],
    ]
    /// Programs that send what they read on their input to another host.
    static let networkSenders: Set<String> = [
        "ssh", "nc", "ncat", "netcat", "socat", "curl", "wget", "http", "https", "xh", "aws", "gsutil", "gcloud", "az", "azcopy", "rclone", "mc", "s3cmd", "openssl",
        "telnet", "cryptcat",
    ]

    /// `pg_dump app | gzip | aws s3 cp - s3://…`, `tar czf - /var/lib/postgresql | ssh host
    /// 'cat > pg.tgz'`: a copy of a whole database piped to a program that sends it to
    /// another host leaves the machine, whatever each command is on its own (a dump is a
    /// read, an upload a patch).
    private func checkDataLeavingHost(_ command: SimpleCommand, in commands: [SimpleCommand], at index: Int, into findings: inout [Finding]) {
        guard index + 1 < commands.count, commands[index + 1].readsPipe, let what = Self.wholeDatabase(command.words) else { return }
        var next = index + 1
        while next < commands.count, commands[next].readsPipe {
            if let sender = commands[next].words.first, !sender.isDynamic, Self.networkSenders.contains(Self.basename(sender.text)) {
                findings.append(
                    Finding(
                        rule: "database-leaves-host", message: "sends \(what) to another host through `\(Self.basename(sender.text))`: the data leaves the machine",
                        effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated),
                        subject: commands[index...next].map { $0.words.map(\.text).joined(separator: " ") }.joined(separator: " | ")))
                return
            }
            next += 1
        }
    }

    /// What of a database `words` writes to its output: a dump with no file named, or an
    /// archive of a database server's data directory. Nil for anything else.
    static func wholeDatabase(_ words: [ShellWord]) -> String? {
        // Past `sudo -u postgres`, `env`, `nice` and the like: the first known program.
        for (position, word) in words.prefix(6).enumerated() where !word.isDynamic {
            let program = basename(word.text)
            let args = words.dropFirst(position + 1)
            if let fileOptions = databaseDumpers[program] {
                let toFile = args.contains { word in
                    fileOptions.contains { word.text == $0 || word.text.hasPrefix($0 + "=") || (!$0.hasPrefix("--") && word.text.hasPrefix($0) && word.text.count > 2) }
                }
                let archiveToFile = program == "mongodump" && args.contains { $0.text.hasPrefix("--archive=") }
                return toFile || archiveToFile ? nil : "a dump of a database (`\(program)`)"
            }
            if SensitivePaths.treeReaders.contains(program),
                let data = args.first(where: { !$0.isDynamic && SensitivePaths.isDatabaseData(Substring($0.text.hasSuffix("/") ? $0.text : $0.text + "/")) })
            {
                return "a database server's data (\(data.text))"
            }
        }
        return nil
    }

    // MARK: - Variables printed

    /// Programs that print their arguments.
    static let echoPrograms: Set<String> = ["echo", "printf", "print"]
    /// Programs that print what they read, changed or not: a secret given on their input
    /// (`base64 <<< "$TOKEN"`) is shown.
    static let passThroughPrinters: Set<String> = [
        "cat", "base64", "base32", "basenc", "xxd", "od", "hexdump", "rev", "tr", "cut", "sed", "awk", "tee", "head", "tail", "fold", "sort", "uniq", "column", "paste", "nl", "iconv",
        "fmt", "expand", "strings",
    ]

    /// Programs that take a secret on their input and keep it to themselves (`docker login
    /// --password-stdin`, `gh auth login --with-token`, `vault login -`, `chpasswd`).
    static let secretConsumers: Set<String> = [
        "docker", "podman", "nerdctl", "buildah", "skopeo", "crane", "oras", "helm", "gh", "glab", "kubectl", "oc", "vault", "bao", "sshpass", "gpg", "openssl", "cryptsetup",
        "chpasswd", "passwd", "npm", "gcloud", "az", "aws", "terraform", "kubeseal", "sops", "age", "op", "pass", "secret-tool", "security", "keyctl", "ansible-vault", "htpasswd",
        "wrangler", "vercel", "netlify", "flyctl", "fly", "heroku", "doctl", "twine", "cargo", "gem",
    ]

    /// `echo "$AWS_SECRET_ACCESS_KEY"`, `printf %s "${DB_PASSWORD}"`, `base64 <<< "$TOKEN"`: a
    /// variable's value printed where the agent reads it is held as `printenv NAME` is (the
    /// packs decide which names are secret). A value piped into a program that takes secrets
    /// on its input (`echo "$TOKEN" | docker login --password-stdin`) or written to a file
    /// is not printed; piped into any other program (`| xargs echo`, `| python3 -c …`) it may
    /// be, and counts as printed.
    private func checkPrintedVariables(_ command: SimpleCommand, in commands: [SimpleCommand], at index: Int, depth: Int, into findings: inout [Finding]) {
        // Most commands expand nothing and read no here-string: turned away before any lookup.
        guard let first = command.words.first, !first.isDynamic, !command.stdinTexts.isEmpty || command.words.dropFirst().contains(where: \.isDynamic) else { return }
        let name = Self.basename(first.text)
        var texts: [String] = []
        if Self.echoPrograms.contains(name) {
            texts = command.words.dropFirst().filter(\.isDynamic).map(\.text)
        } else if Self.passThroughPrinters.contains(name), !command.stdinTexts.isEmpty {
            texts = command.stdinTexts
        }
        guard !texts.isEmpty else { return }
        // The first 16 are what is checked: an echo of 40,000 variables is not read to its end.
        var names: [Substring] = []
        for text in texts where names.count < 16 { names += Self.expandedVariables(text).prefix(16 - names.count) }
        guard !names.isEmpty else { return }
        // Where the output goes: a file (not shown), a program that consumes it, or the screen.
        if command.redirections.contains(where: { $0.isOutput && !$0.op.containsASCII("&") && !$0.target.text.hasPrefix("/dev/std") && !$0.target.text.hasPrefix("/dev/tty") && $0.op != "2>" }) {
            return
        }
        var next = index + 1
        while next < commands.count, commands[next].readsPipe {
            if let consumer = commands[next].words.first, !consumer.isDynamic, Self.secretConsumers.contains(Self.basename(consumer.text)) { return }
            next += 1
        }
        analyze(line: "printenv " + names.map { String($0) }.joined(separator: " "), depth: depth + 1, into: &findings)
    }

    /// The variables a word's text expands: `$NAME` and `${NAME…}`, but not `${#NAME}` (a
    /// length) or the special parameters (`$1`, `$?`).
    static func expandedVariables(_ text: String) -> [Substring] {
        var names: [Substring] = []
        let bytes = text.utf8
        var i = bytes.startIndex
        func isNameByte(_ b: UInt8, first: Bool) -> Bool {
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_") || (!first && b >= 0x30 && b <= 0x39)
        }
        while i < bytes.endIndex, names.count < 64 {
            guard bytes[i] == UInt8(ascii: "$") else {
                i = bytes.index(after: i)
                continue
            }
            var start = bytes.index(after: i)
            if start < bytes.endIndex, bytes[start] == UInt8(ascii: "{") { start = bytes.index(after: start) }
            var end = start
            while end < bytes.endIndex, isNameByte(bytes[end], first: end == start) { end = bytes.index(after: end) }
            if end > start { names.append(text[start..<end]) }
            i = max(end, bytes.index(after: i))
        }
        return names
    }

    // MARK: - One command

    private func analyze(command: SimpleCommand, words: [ShellWord], script: ShellScript, depth: Int, into findings: inout [Finding]) {
        guard depth <= Self.maximumDepth else {
            // Wrappers nest without a new line to parse (`sudo sudo sudo …`): the same limit.
            findings.append(.unknown("shell-too-deep", "commands nested more than \(Self.maximumDepth) levels deep", subject: .words(words)))
            return
        }
        checkRedirections(command, into: &findings)
        for assignment in command.assignments {
            checkVariable(assignment.name, value: assignment.value, depth: depth, into: &findings)
        }
        guard let first = words.first else { return }
        let subject = Subject.words(words)
        if first.isDynamic {
            findings.append(.unknown("shell-dynamic-program", "the program name is only known at run time (\(first.text))", subject: subject))
            return
        }
        let name = Self.basename(first.text)
        let args = Array(words.dropFirst())
        let protectionFindings = protection.check(program: name, programWord: first.text, args: args, cwd: cwd, budget: fileSystem)
        if !protectionFindings.isEmpty { findings += protectionFindings }
        if Self.setsVariables(name) {
            for word in args {
                if let finding = SelfProtection.configurationVariable(word.text, subject: subject.text) { findings.append(finding) }
                if let eq = word.text.firstIndex(of: "="), eq != word.text.startIndex {
                    checkVariable(
                        String(word.text[..<eq]), value: ShellWord(text: String(word.text[word.text.index(after: eq)...]), isDynamic: word.isDynamic),
                        depth: depth, into: &findings)
                }
            }
        }
        if first.text.containsASCII("/"), let text = projectFile(first.text), text.hasPrefix("#!") {
            // A script the agent may just have written: what it runs is analysed too.
            analyze(line: text, depth: depth + 1, into: &findings)
        }
        if !script.definedFunctions.isEmpty, script.definedFunctions.contains(name) {
            findings.append(.unknown("shell-function-call", "calls the shell function '\(name)' defined in the same command line", subject: subject))
            return
        }
        if unwrap(name: name, args: args, command: command, script: script, depth: depth, subject: subject, into: &findings) {
            return
        }
        match(program: name, args: args, command: command, subject: subject, depth: depth, calledByName: !first.text.containsASCII("/"), into: &findings)
    }

    // MARK: - Variables that run code

    /// Variables that change which code runs (the loader, the shell's start-up files, the
    /// search path, interpreters' start-up options).
    static let hijackVariables: Set<String> = [
        "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "NODE_OPTIONS",
        "PERL5OPT", "RUBYOPT", "PYTHONSTARTUP", "GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "MAKEFILES",
    ]
    /// Variables that say where packages come from or whether downloads are verified: a
    /// registry, proxy or index of someone else's, checksums or TLS checks turned off.
    static func packageSourceSetting(_ name: String, value: ShellWord) -> String? {
        switch name {
        case "GOPROXY", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX",
            "NPM_CONFIG_REGISTRY", "npm_config_registry", "YARN_NPM_REGISTRY_SERVER", "YARN_REGISTRY", "BUN_CONFIG_REGISTRY", "CONDA_CHANNELS":
            return "where later installs download packages from"
        case "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GOINSECURE", "PIP_TRUSTED_HOST", "GIT_SSL_NO_VERIFY", "NODE_TLS_REJECT_UNAUTHORIZED", "PYTHONHTTPSVERIFY":
            return "downloads are no longer checked against checksums or certificates"
        case "GOFLAGS" where value.isDynamic || value.text.contains("insecure"):
            return "downloads are no longer checked against checksums or certificates"
        default:
            return name.hasPrefix("POETRY_REPOSITORIES_") || name.hasPrefix("CARGO_REGISTRIES_") ? "where later installs download packages from" : nil
        }
    }

    /// Variables whose value is a command line some program runs (git's ssh and editors,
    /// pagers, askpass helpers, the prompt hook).
    static let commandVariables: Set<String> = [
        "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER", "GIT_EXTERNAL_DIFF",
        "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "BROWSER",
        "LESSOPEN", "LESSCLOSE", "PROMPT_COMMAND", "RSYNC_RSH", "CVS_RSH", "GIT_PROXY_COMMAND",
    ]

    /// A variable set for a command (`NAME=value cmd`, `env NAME=value`, `export NAME=value`):
    /// a command line in a variable that runs one is analysed as one; a function exported
    /// through the environment (`BASH_FUNC_name%%=() { … }`) has its body analysed; a
    /// variable that changes which code runs is unknown.
    private func checkVariable(_ name: String, value: ShellWord, depth: Int, into findings: inout [Finding]) {
        let subject = "\(name)=\(value.text)"
        if let finding = SelfProtection.configurationVariable(name, subject: subject) { findings.append(finding) }
        if let reason = Self.packageSourceSetting(name, value: value) {
            findings.append(
                Finding(
                    rule: "package-source-variable", message: "sets \(name): \(reason)",
                    effect: RuleEffect(operationClass: .patch, tier: .gated), subject: subject))
        }
        if Self.hijackVariables.contains(name) {
            findings.append(.unknown("shell-environment-hijack", "sets \(name), which changes which code runs", subject: subject))
        } else if Self.commandVariables.contains(name) {
            if value.isDynamic { findings.append(.unknown("shell-variable-command", "sets \(name) to a command only known at run time", subject: subject)) }
            let before = findings.count
            analyze(line: value.text, depth: depth + 1, into: &findings)
            if findings.count == before {
                findings.append(.unknown("shell-variable-command", "sets \(name) to a command Holdpoint found nothing in", subject: subject))
            }
        } else if name.hasPrefix("BASH_FUNC_") {
            // `() { body; }`: the body runs whenever the function's name is called.
            var body = Substring(value.text)
            if let open = body.firstIndex(of: "{"), let close = body.lastIndex(of: "}"), open < close {
                body = body[body.index(after: open)..<close]
            }
            findings.append(.unknown("shell-exported-function", "exports a shell function through the environment (\(name))", subject: subject))
            analyze(line: String(body), depth: depth + 1, into: &findings)
        }
    }

    /// Shell builtins that set or unset variables by name.
    static let variableBuiltins: Set<String> = ["export", "declare", "typeset", "readonly", "local", "unset"]

    /// `variableBuiltins.contains(name)`, looked up only for names of their lengths (5 to 8
    /// letters): most programs are turned away without hashing their name.
    static func setsVariables(_ name: String) -> Bool {
        (5...8).contains(name.utf8.count) && variableBuiltins.contains(name)
    }

    static func basename(_ path: String) -> String {
        // Searching the UTF-8 bytes: Character iteration was a tenth of classification time.
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        let rest = path[path.utf8.index(after: slash)...]
        return rest.isEmpty ? path : String(rest)
    }

    /// Output redirections write files; to a block device they wipe it.
    private func checkRedirections(_ command: SimpleCommand, into findings: inout [Finding]) {
        guard command.redirections.count <= Self.maximumFindings else {
            findings.append(.unknown("shell-too-large", "\(command.redirections.count) redirections: too many to analyse", subject: "(\(command.redirections.count) redirections)"))
            return
        }
        for redirection in command.redirections where !redirection.target.isDynamic && !redirection.op.hasPrefix("<<") {
            let writing = redirection.isOutput && !redirection.op.containsASCII("<") || redirection.op == "<>"
            if let finding = protection.checkPath(redirection.target.text, writing: writing, cwd: cwd, budget: fileSystem, subject: "\(redirection.op) \(redirection.target.text)") {
                findings.append(finding)
            }
            if writing, SensitivePaths.isDatabaseData(Substring(redirection.target.text)) {
                findings.append(SensitivePaths.databaseDataWrite(redirection.target.text))
            }
            if writing, SensitivePaths.isHostFile(Substring(redirection.target.text), appending: redirection.op.hasSuffix(">>")) {
                findings.append(SensitivePaths.hostFileWrite(redirection.target.text))
            }
            if writing, SensitivePaths.isPersistence(redirection.target.text) {
                findings.append(SensitivePaths.persistenceWrite(redirection.target.text))
            } else if !writing, SensitivePaths.isCredential(redirection.target.text) {
                findings.append(SensitivePaths.credentialRead(redirection.target.text))
            }
        }
        for redirection in command.redirections where redirection.isOutput && !redirection.op.containsASCII("<") {
            let target = redirection.target.text
            if target.hasPrefix("&") || ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"].contains(target) || target.hasPrefix("/dev/fd/") {
                continue
            }
            if target.hasPrefix("/dev/") {
                findings.append(
                    Finding(
                        rule: "shell-redirect-device", message: "writes directly to the device \(target)",
                        effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true),
                        subject: "\(redirection.op) \(target)"))
            } else if !redirection.op.hasSuffix(">>"), Self.printsNothing(command) {
                findings.append(SensitivePaths.emptiesFile(target, how: "\(redirection.op) \(target)"))
            } else {
                findings.append(
                    Finding(
                        rule: "shell-redirect-write", message: "writes the file \(target)",
                        effect: RuleEffect(operationClass: .patch), subject: "\(redirection.op) \(target)"))
            }
        }
    }

    /// The command writes nothing to its output, so redirecting it over a file empties the
    /// file: `> f`, `: > f`, `true > f`, `cat /dev/null > f`, `echo -n > f`, `printf '' > f`.
    static func printsNothing(_ command: SimpleCommand) -> Bool {
        guard let first = command.words.first else { return command.stdinTexts.isEmpty }
        guard !first.isDynamic else { return false }
        let rest = command.words.dropFirst()
        switch first.text {
        case ":", "true", "false": return true
        case "cat": return !command.readsPipe && command.stdinTexts.isEmpty && !rest.isEmpty && rest.allSatisfy { !$0.isDynamic && $0.text == "/dev/null" }
        case "echo": return rest.count == 1 && rest.first?.text == "-n"
        case "printf": return rest.count == 1 && rest.first?.isDynamic == false && rest.first?.text == ""
        default: return false
        }
    }

    // MARK: - Wrappers

    /// Options that take a value, per wrapper, so the wrapped command is found after them.
    private static let valueOptions: [String: Set<String>] = [
        "sudo": [
            "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R", "--user", "--group", "--chdir", "--host", "--prompt", "--role", "--type", "--other-user", "--close-from",
            "--command-timeout", "--chroot",
        ],
        "doas": ["-u", "-C"],
        "env": ["-u", "-C", "--unset", "--chdir", "-S", "--split-string"],
        "exec": ["-a"],
        "time": ["-f", "-o", "--format", "--output"],
        "nice": ["-n", "--adjustment"],
        "ionice": ["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
        "timeout": ["-s", "-k", "--signal", "--kill-after"],
        "stdbuf": ["-i", "-o", "-e", "--input", "--output", "--error"],
        "xargs": ["-n", "-I", "-L", "-P", "-d", "-a", "-E", "-s", "--max-args", "--replace", "--max-lines", "--max-procs", "--delimiter", "--arg-file", "--eof", "--max-chars", "--process-slot-var"],
        "watch": ["-n", "--interval", "-d", "-q", "--equexit"],
        "ssh": ["-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-e", "-m", "-O", "-Q", "-S", "-W", "-w", "-E", "-B", "-I"],
        "taskset": [],
        "chroot": ["--userspec", "--groups"],
        "runuser": ["-u", "-g", "-G", "--user", "--group"],
        "su": ["-c", "-s", "-g", "-G", "--shell", "--group", "--command"],
        "pssh": ["-h", "-H", "-l", "-p", "-t", "-o", "-e", "-x", "-X", "-O", "--hosts", "--host", "--user", "--par", "--timeout", "--outdir", "--errdir", "--extra-args", "--extra-arg", "--option"],
        "parallel-ssh": [
            "-h", "-H", "-l", "-p", "-t", "-o", "-e", "-x", "-X", "-O", "--hosts", "--host", "--user", "--par", "--timeout", "--outdir", "--errdir", "--extra-args", "--extra-arg", "--option",
        ],
        "pdsh": ["-w", "-x", "-l", "-R", "-f", "-t", "-u", "-g", "-X"],
        "clush": [
            "-w", "-x", "-g", "-X", "-l", "-f", "-o", "-t", "-u", "-R", "--nodes", "--exclude", "--group", "--user", "--fanout", "--options", "--connect_timeout", "--command_timeout", "--worker",
        ],
        "parallel": [
            "-j", "--jobs", "-S", "--sshlogin", "--joblog", "-a", "--arg-file", "--results", "--tmpdir", "--delay", "--timeout", "--retries", "-N", "-n", "--max-args", "--colsep", "-d",
            "--delimiter", "-I", "--replace", "-E", "--eof", "--workdir", "--wd", "--env", "--sshloginfile", "--slf", "--memfree", "--load", "--tag-string", "--halt", "--resume-failed",
        ],
    ]

    /// `sudo -l`, `sudo -v`, `sudo -k`, `sudo -V`: options that run nothing. Any other
    /// option (`-s`, `-i`) opens a shell.
    static let privilegeQueries: Set<String> = ["-l", "-ll", "--list", "-v", "--validate", "-k", "-K", "--reset-timestamp", "--remove-timestamp", "-V", "--version", "-h", "--help"]

    static func privilegeQuery(_ args: [ShellWord]) -> Bool {
        args.contains { privilegeQueries.contains($0.text) }
            && args.allSatisfy { privilegeQueries.contains($0.text) || $0.text == "-U" || $0.text == "-n" || $0.text == "--non-interactive" || !$0.text.hasPrefix("-") }
    }

    /// Splits `args` into the wrapper's own options and what it runs.
    private static func skipOptions(_ args: [ShellWord], for wrapper: String) -> [ShellWord] {
        let takesValue = valueOptions[wrapper] ?? []
        var i = 0
        while i < args.count {
            let text = args[i].text
            if text == "--" { return Array(args[(i + 1)...]) }
            guard text.hasPrefix("-"), text.count > 1, !args[i].isDynamic else { break }
            if takesValue.contains(text) {
                i += 2
            } else if !text.hasPrefix("--"), text.count > 2, takesValue.contains(String(text.prefix(2))) {
                i += 1  // value attached: -n10, -uroot
            } else {
                i += 1
            }
        }
        return i < args.count ? Array(args[i...]) : []
    }

    /// Programs that run another command or code, by what kind of wrapper they are. A
    /// dictionary rather than a `switch` over the names: a string `switch` compares the name
    /// with every case in turn, some seventy comparisons for every ordinary program.
    enum Wrapper {
        case privilege, switchUser, env, command, runner, holdpoint, timeout, taskset, xargs, parallel, busybox, watch, eval, trap, alias, source, shell, ssh, fanOut, interpreter, projectRunner,
            packageRunner
    }

    static let wrappers: [String: Wrapper] = {
        let kinds: [(Wrapper, [String])] = [
            (.privilege, ["sudo", "doas", "runuser"]),
            (.switchUser, ["su"]),
            (.env, ["env"]),
            (.command, ["command"]),
            (
                .runner,
                [
                    "builtin", "exec", "nohup", "setsid", "unbuffer", "chronic", "caffeinate", "time", "nice", "ionice", "stdbuf", "flock", "catchsegv", "strace", "ltrace", "torsocks", "proxychains",
                    "proxychains4", "firejail", "systemd-run", "script",
                ]
            ),
            (.holdpoint, ["holdpoint"]),
            (.timeout, ["timeout"]),
            (.taskset, ["taskset", "chroot"]),
            (.xargs, ["xargs"]),
            (.parallel, ["parallel"]),
            (.fanOut, ["pssh", "parallel-ssh", "pdsh", "clush"]),
            (.busybox, ["busybox", "toybox"]),
            (.watch, ["watch"]),
            (.eval, ["eval"]),
            (.trap, ["trap"]),
            (.alias, ["alias"]),
            (.source, ["source", "."]),
            (.shell, ["sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox-sh", "rbash"]),
            (.ssh, ["ssh"]),
            (.projectRunner, Array(projectRunWords.keys)),
            (.packageRunner, ["npx", "bunx"]),
            (
                .interpreter,
                [
                    "python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "deno", "bun", "perl", "ruby", "php", "osascript", "Rscript", "lua", "tclsh", "pwsh", "powershell", "pwsh.exe",
                    "powershell.exe",
                ]
            ),
        ]
        var table: [String: Wrapper] = [:]
        for (kind, names) in kinds {
            for name in names { table[name] = kind }
        }
        return table
    }()

    /// Tools that run a command in the project's environment, and the word that says so:
    /// `bundle exec rake -T`, `poetry run pytest`, `uv run python x.py`.
    static let projectRunWords: [String: String] = [
        "bundle": "exec", "bundler": "exec", "poetry": "run", "uv": "run", "pipenv": "run", "pdm": "run", "hatch": "run", "rye": "run", "conda": "run", "mamba": "run",
        "micromamba": "run", "pixi": "exec",
    ]
    /// Their options before the command that take a value.
    static let projectRunValueOptions: Set<String> = [
        "-n", "--name", "-p", "--prefix", "--with", "--python", "--directory", "--project", "--env-file", "-e", "--env", "--group", "--extra", "--package", "--cwd", "--gemfile",
        "--spec", "-s", "--environment", "--manifest-path",
    ]

    /// Handles wrappers and interpreters. Returns true when `name` was one (its findings added).
    private func unwrap(name: String, args: [ShellWord], command: SimpleCommand, script: ShellScript, depth: Int, subject: Subject, into findings: inout [Finding]) -> Bool {
        func inner(_ words: [ShellWord]) {
            var nested = command
            nested.redirections = []
            analyze(command: nested, words: words, script: script, depth: depth + 1, into: &findings)
        }
        switch Self.wrappers[name] {
        case .packageRunner:
            // `npx jest`: the project's own copy of a tool the packs know, when it is installed;
            // a versioned, scoped or unknown package (`npx some-cli@latest`), or one named by
            // `-p`, may be fetched from the registry and run.
            var i = 0
            while i < args.count, args[i].text.hasPrefix("-"), !args[i].isDynamic, !["-p", "--package", "-c", "--call"].contains(args[i].text), !args[i].text.hasPrefix("--package=") {
                i += 1
            }
            if i < args.count, !args[i].isDynamic, !args[i].text.hasPrefix("-"), !args[i].text.containsASCII("@"), !args[i].text.containsASCII("/"),
                rules.knows(args[i].text)
            {
                inner(Array(args[i...]))
            } else {
                findings.append(.unknown("package-runner", "\(name) runs a package it may first fetch from the registry", subject: subject))
            }
            return true
        case .projectRunner:
            guard args.first?.text == Self.projectRunWords[name] else { return false }  // `uv pip list`: the tool's own command
            var i = 1
            while i < args.count, args[i].text.hasPrefix("-"), !args[i].isDynamic {
                if args[i].text == "--" {
                    i += 1
                    break
                }
                i += Self.projectRunValueOptions.contains(args[i].text) ? 2 : 1
            }
            if i < args.count {
                inner(Array(args[i...]))
            } else {
                findings.append(.unknown("shell-unknown-program", "\(name) \(args[0].text) with no command to run", subject: subject))
            }
            return true
        case .privilege:
            let rest = Self.skipOptions(args, for: name)
            if rest.isEmpty, Self.privilegeQuery(args) {
                findings.append(Finding(rule: "read-only-command", message: "lists privileges, or refreshes or drops cached credentials", effect: RuleEffect(operationClass: .read), subject: subject))
            } else if rest.isEmpty {
                findings.append(.unknown("shell-root-shell", "opens an interactive root shell", subject: subject))
            } else {
                inner(rest)
            }
            return true
        case .switchUser:
            if let c = args.firstIndex(where: { $0.text == "-c" || $0.text == "--command" }), c + 1 < args.count {
                analyzeNested(args[c + 1], depth: depth, subject: subject, into: &findings)
            } else {
                findings.append(.unknown("shell-root-shell", "opens an interactive shell as another user", subject: subject))
            }
            return true
        case .env:
            var rest = args
            var i = 0
            var splitString: ShellWord?
            while i < rest.count {
                let text = rest[i].text
                if text == "-S" || text == "--split-string", i + 1 < rest.count {
                    splitString = rest[i + 1]
                    i += 2
                    continue
                }
                if text.hasPrefix("--split-string=") {
                    splitString = ShellWord(text: String(text.dropFirst(15)))
                    i += 1
                    continue
                }
                if text == "--" {
                    i += 1
                    break
                }
                if text.hasPrefix("-"), text.count > 1 {
                    i += (Self.valueOptions["env"] ?? []).contains(text) ? 2 : 1
                    continue
                }
                if let eq = text.firstIndex(of: "="), eq != text.startIndex {
                    checkVariable(
                        String(text[..<eq]), value: ShellWord(text: String(text[text.index(after: eq)...]), isDynamic: rest[i].isDynamic),
                        depth: depth, into: &findings)
                    i += 1
                    continue
                }
                break
            }
            rest = i < rest.count ? Array(rest[i...]) : []
            if let splitString {
                let joined = ([splitString.text] + rest.map { Self.quote($0.text) }).joined(separator: " ")
                analyze(line: joined, depth: depth + 1, into: &findings)
            } else if rest.isEmpty {
                findings.append(
                    Finding(
                        rule: "secret-environment", message: "prints environment variables, where tokens and keys live",
                        effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated), subject: subject))
            } else {
                inner(rest)
            }
            return true
        case .command:
            if args.contains(where: { $0.text == "-v" || $0.text == "-V" }) {
                findings.append(Finding(rule: "read-only-command", message: "looks a command up", effect: RuleEffect(operationClass: .read), subject: subject))
                return true
            }
            let rest = Self.skipOptions(args, for: name)
            if !rest.isEmpty { inner(rest) }
            return true
        case .runner:
            var rest = Self.skipOptions(args, for: name)
            if name == "flock", !rest.isEmpty { rest.removeFirst() }  // the lock file
            if rest.isEmpty {
                if name == "exec" || name == "time" || name == "nice" {
                    findings.append(Finding(rule: "read-only-command", message: "\(name) with nothing to run", effect: RuleEffect(operationClass: .read), subject: subject))
                } else {
                    findings.append(.unknown("shell-unknown-program", "\(name) with no command to run", subject: subject))
                }
            } else {
                inner(rest)
            }
            return true
        case .holdpoint:
            // `holdpoint exec [options] -- CMD…` runs CMD: the gate in front of the agent
            // judges CMD itself, as it would judge it run directly. The other subcommands
            // are classified by the `holdpoint` rule pack; admin ones are blocked.
            guard SelfProtection.subcommand(after: 0, in: [ShellWord(text: name)] + args) == "exec",
                let dash = args.firstIndex(where: { $0.text == "--" }), dash + 1 < args.count
            else { return false }
            inner(Array(args[(dash + 1)...]))
            return true
        case .timeout:
            var rest = Self.skipOptions(args, for: name)
            if !rest.isEmpty { rest.removeFirst() }  // the duration
            if rest.isEmpty {
                findings.append(.unknown("shell-unknown-program", "timeout with no command to run", subject: subject))
            } else {
                inner(rest)
            }
            return true
        case .taskset:
            var rest = Self.skipOptions(args, for: name)
            if !rest.isEmpty { rest.removeFirst() }  // the CPU mask or the new root
            if rest.isEmpty {
                findings.append(.unknown("shell-root-shell", "\(name) starts an interactive shell", subject: subject))
            } else {
                inner(rest)
            }
            return true
        case .xargs:
            // `xargs -a FILE`: the file is read and its contents become arguments.
            for (i, word) in args.enumerated() {
                var file: String?
                if word.text == "-a" || word.text == "--arg-file", i + 1 < args.count {
                    file = args[i + 1].text
                } else if word.text.hasPrefix("--arg-file=") {
                    file = String(word.text.dropFirst("--arg-file=".count))
                }
                if let file, SensitivePaths.isCredential(file) { findings.append(SensitivePaths.credentialRead(file)) }
            }
            var rest = Self.skipOptions(args, for: name)
            if rest.isEmpty { rest = [ShellWord(text: "echo")] }
            // xargs appends words read from its input: unknown values.
            rest.append(ShellWord(text: "{xargs input}", isDynamic: true))
            inner(rest)
            return true
        case .parallel:
            // GNU parallel: `parallel CMD ::: ARG…` runs CMD once per argument (words after
            // `:::`, or files named after `::::`); without them, once per line of input. One
            // word for CMD is a shell command line; several are quoted as given.
            for (i, word) in args.enumerated() where (word.text == "-a" || word.text == "--arg-file" || word.text == "::::") && i + 1 < args.count {
                if SensitivePaths.isCredential(args[i + 1].text) { findings.append(SensitivePaths.credentialRead(args[i + 1].text)) }
            }
            let rest = Self.skipOptions(args, for: name)
            let separator = rest.firstIndex { $0.text == ":::" || $0.text == "::::" || $0.text == ":::+" || $0.text == "::::+" }
            let program = rest[..<(separator ?? rest.endIndex)]
            guard !program.isEmpty else {
                findings.append(.unknown("shell-unknown-program", "parallel runs commands it reads from its input", subject: subject))
                return true
            }
            var inputs = [ShellWord(text: "{parallel input}", isDynamic: true)]
            if let separator, rest[separator].text == ":::" || rest[separator].text == ":::+" {
                inputs = Array(rest[(separator + 1)...].filter { !$0.text.hasPrefix(":::") }.prefix(64))
            }
            if program.count == 1 {
                analyze(line: program[program.startIndex].text + " " + inputs.map { $0.isDynamic ? "\"$INPUT\"" : Self.quote($0.text) }.joined(separator: " "), depth: depth + 1, into: &findings)
            } else {
                inner(Array(program) + inputs)
            }
            return true
        case .fanOut:
            // `pssh -h hosts CMD`, `pdsh -w node[1-9] CMD`, `clush -a CMD`: ssh to many hosts at once.
            let rest = Self.skipOptions(args, for: name)
            guard !rest.isEmpty else {
                findings.append(.unknown("shell-remote-shell", "opens interactive shells on many hosts", subject: subject))
                return true
            }
            analyze(line: ShellWord.joinedText(rest), depth: depth + 1, into: &findings)
            return true
        case .busybox:
            if args.isEmpty {
                findings.append(.unknown("shell-unknown-program", "\(name) with no applet", subject: subject))
            } else {
                inner(args)
            }
            return true
        case .watch:
            let rest = Self.skipOptions(args, for: name)
            if rest.isEmpty { return false }
            analyze(line: rest.map { $0.isDynamic ? $0.text : Self.quote($0.text) }.joined(separator: " "), depth: depth + 1, into: &findings)
            return true
        case .eval:
            if args.contains(where: \.isDynamic) {
                findings.append(.unknown("shell-eval-dynamic", "eval of text only known at run time", subject: subject))
            }
            analyze(line: ShellWord.joinedText(args), depth: depth + 1, into: &findings)
            return true
        case .trap:
            // `trap 'cmd' EXIT`: cmd runs when the signal comes (or the shell exits).
            guard let action = args.first, !["-l", "-p", "-", ""].contains(action.text), args.count >= 2 else { return false }
            analyzeNested(action, depth: depth, subject: subject, into: &findings)
            return true
        case .alias:
            // `alias ls='rm -rf /srv'`: a shell that keeps its state between commands (an
            // agent's) runs the value whenever the name is typed later. The value is read as
            // if run now; the gate's own name may not be redefined.
            for word in args {
                guard let eq = word.text.firstIndex(of: "="), eq != word.text.startIndex else { continue }
                let name = String(word.text[..<eq])
                let value = String(word.text[word.text.index(after: eq)...])
                if SelfProtection.basenameIsHoldpoint(name) {
                    findings.append(SelfProtection.blocked("holdpoint-redefined", "redefines holdpoint as an alias: the gate would stop being called", subject: word.text))
                }
                if !value.isEmpty { analyzeNested(ShellWord(text: value, isDynamic: word.isDynamic), depth: depth, subject: subject, into: &findings) }
            }
            return false
        case .source:
            guard let file = args.first else { return false }
            findings.append(.unknown("shell-script-file", "reads and runs the script \(file.text) in the current shell", subject: subject))
            if !file.isDynamic, let text = projectFile(file.text) { analyze(line: text, depth: depth + 1, into: &findings) }
            return true
        case .shell:
            analyzeShellInvocation(name: name, args: args, command: command, depth: depth, subject: subject, into: &findings)
            return true
        case .ssh:
            embeddedCode(program: name, args: args, subject: subject, depth: depth, into: &findings)
            // `ssh -V` prints its version, `ssh -G HOST` the configuration it would use: neither
            // connects. Only among the leading options: after the host, words are the remote command's.
            if args.prefix(while: { $0.text.hasPrefix("-") }).contains(where: { $0.text == "-V" || $0.text == "-G" }) {
                findings.append(Finding(rule: "read-only-command", message: "prints ssh's version or configuration", effect: RuleEffect(operationClass: .read), subject: subject))
                return true
            }
            let rest = Self.skipOptions(args, for: name)
            guard rest.count >= 2 else {
                findings.append(.unknown("shell-remote-shell", "opens an interactive remote shell", subject: subject))
                return true
            }
            // ssh joins the remaining words with spaces and the remote shell parses them
            // (after a `--` that ends ssh's own options: `ssh bastion -- kubectl get nodes`).
            let remote = rest.dropFirst()
            analyze(line: ShellWord.joinedText(remote.first?.text == "--" ? remote.dropFirst() : remote), depth: depth + 1, into: &findings)
            return true
        case .interpreter:
            analyzeInterpreter(name: name, args: args, command: command, depth: depth, subject: subject, into: &findings)
            return true
        case nil:
            return false
        }
    }

    /// Quotes a word so that re-parsing it yields the same word.
    static func quote(_ text: String) -> String {
        if !text.isEmpty,
            text.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "-_./=:,+@%".utf8.contains(b)
            })
        {
            return text
        }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func analyzeNested(_ word: ShellWord, depth: Int, subject: Subject, into findings: inout [Finding]) {
        if word.isDynamic {
            findings.append(.unknown("shell-dynamic-script", "runs a script only known at run time", subject: subject))
        }
        analyze(line: word.text, depth: depth + 1, into: &findings)
    }

    /// `bash -lc "…"`, `sh script.sh`, `bash <<EOF … EOF`, `curl … | sh`.
    private func analyzeShellInvocation(name: String, args: [ShellWord], command: SimpleCommand, depth: Int, subject: Subject, into findings: inout [Finding]) {
        var i = 0
        var hasC = false
        while i < args.count {
            let text = args[i].text
            if text == "--" {
                i += 1
                break
            }
            if text == "-o" || text == "+o" || text == "-O" || text == "+O" {
                i += 2
                continue
            }
            if text == "--command" || text == "-c" {
                hasC = true
                i += 1
                break
            }
            if text.hasPrefix("-") || text.hasPrefix("+") {
                if !text.hasPrefix("--"), text.dropFirst().containsASCII("c") {
                    hasC = true
                    i += 1
                    break
                }
                i += 1
                continue
            }
            break
        }
        if hasC {
            guard i < args.count else {
                findings.append(.unknown("shell-unparsed", "\(name) -c without a command", subject: subject))
                return
            }
            analyzeNested(args[i], depth: depth, subject: subject, into: &findings)
            return
        }
        if i < args.count {
            if let text = projectFile(args[i].text) {
                findings.append(.unknown("shell-script-file", "runs the script \(args[i].text), which may change after this check (its current contents are analysed too)", subject: subject))
                analyze(line: text, depth: depth + 1, into: &findings)
            } else {
                findings.append(.unknown("shell-script-file", "runs the script \(args[i].text), whose contents Holdpoint cannot see", subject: subject))
            }
            return
        }
        if !command.stdinTexts.isEmpty {
            for text in command.stdinTexts { analyze(line: text, depth: depth + 1, into: &findings) }
        } else if command.readsPipe {
            findings.append(.unknown("shell-pipe-to-shell", "runs commands piped into \(name) (e.g. curl … | sh)", subject: subject))
        } else {
            findings.append(.unknown("shell-interactive", "starts an interactive \(name)", subject: subject))
        }
    }

    private func analyzeInterpreter(name: String, args: [ShellWord], command: SimpleCommand, depth: Int, subject: Subject, into findings: inout [Finding]) {
        if name.hasPrefix("pwsh") || name.hasPrefix("powershell") {
            analyzePowerShell(name: name, args: args, command: command, depth: depth, subject: subject, into: &findings)
            return
        }
        // `python3 -m json.tool ~/.docker/config.json`, `node script.js .env`: a credential
        // file handed to the interpreter or its program is read.
        for word in args where !word.isDynamic && SensitivePaths.isCredential(word.text) {
            findings.append(SensitivePaths.credentialRead(word.text))
        }
        let inlineFlags: Set<String> = ["-c", "-e", "-E", "--eval", "-r", "-p", "--print", "-Command", "-command", "-c:"]
        var code: ShellWord?
        var codeIndex = args.count
        // `perl -pi -e '…' FILE`, `ruby -i.bak -pe …`: the files named after the code are edited in place.
        var inPlace = false
        var i = 0
        while i < args.count {
            let text = args[i].text
            if name.hasPrefix("perl") || name.hasPrefix("ruby"), text.hasPrefix("-"), !text.hasPrefix("--"), !text.hasPrefix("-M"), !text.hasPrefix("-I"),
                text.dropFirst().prefix(while: \.isLetter).contains("i")
            {
                inPlace = true
            }
            if inlineFlags.contains(text) {
                code = i + 1 < args.count ? args[i + 1] : nil
                codeIndex = i + 1
                break
            }
            // Bundled short flags ending in the code flag: -ic, -ne, -le. Not a flag carrying
            // its value (`-MFile::Path=remove_tree`, `-Mre`, `-Ilib`): that is no code flag.
            let carriesValue = text.hasPrefix("-M") || text.hasPrefix("-m") || text.hasPrefix("-I") || text.hasPrefix("-W") || text.hasPrefix("-X")
            if text.hasPrefix("-"), !text.hasPrefix("--"), text.count > 2, !carriesValue, text.dropFirst().allSatisfy(\.isLetter), let last = text.last,
                last == "c" || last == "e"
            {
                code = i + 1 < args.count ? args[i + 1] : nil
                codeIndex = i + 1
                break
            }
            if text == "-m", i + 1 < args.count {
                let module = args[i + 1]
                let rest = Array(args[(i + 2)...])
                if module.text == "timeit" {
                    // Its statements are code: `-m timeit -s "import os" "os.system(…)"`.
                    code = Self.timeitCode(rest)
                    break
                }
                pythonModule(module, args: rest, command: command, subject: subject, depth: depth, into: &findings)
                return
            }
            if text == "--version" || text == "-V" || text == "--help" || text == "-h" || text == "-v" {
                findings.append(Finding(rule: "read-only-command", message: "prints version or help", effect: RuleEffect(operationClass: .read), subject: subject))
                return
            }
            if !text.hasPrefix("-") { break }
            i += 1
        }
        // `ruby -run -e httpd / -p 8000`: un.rb's web server, serving the directory it is given.
        if name.hasPrefix("ruby"), let code, code.text.hasPrefix("httpd"), args.contains(where: { $0.text == "-run" || $0.text == "un" }) {
            findings.append(
                Finding(
                    rule: "network-serve-files", message: "serves this machine's files over HTTP to whoever connects",
                    effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated), subject: subject))
        }
        if let code {
            if code.isDynamic {
                findings.append(.unknown("oneliner-dynamic", "runs \(name) code only known at run time", subject: subject))
            }
            // No one types 64 KiB of code on a command line: past that it is not read (bounded time).
            guard code.text.utf8.count <= Self.maximumOneLiner else {
                findings.append(.unknown("oneliner-too-long", "\(name) code of \(code.text.utf8.count / 1024) KiB: too long to read", subject: subject))
                return
            }
            if inPlace {
                // Held as `sed -i` on the same files: the edit, and the files' paths.
                let files = args.dropFirst(codeIndex + 1).filter { !$0.text.hasPrefix("-") }
                analyze(line: "sed -i -- " + (files.isEmpty ? "\"$FILE\"" : files.map { $0.isDynamic ? "\"$FILE\"" : Self.quote($0.text) }.joined(separator: " ")), depth: depth + 1, into: &findings)
            }
            let scan = OneLinerScanner.scan(code.text)
            // Environment variables the code reads are held as `printenv` of them would be.
            let environment = scan.mentionsEnvironment ? OneLinerScanner.environmentReads(code.text) : OneLinerScanner.EnvironmentReads()
            if environment.whole {
                analyze(line: "printenv", depth: depth + 1, into: &findings)
            } else if !environment.names.isEmpty {
                analyze(line: "printenv " + environment.names.prefix(16).map(Self.quote).joined(separator: " "), depth: depth + 1, into: &findings)
            }
            for shell in scan.shellCommands {
                analyze(line: shell, depth: depth + 1, into: &findings)
            }
            // Code that writes or deletes: the paths it names are checked as if written
            // (Holdpoint's own files, the agents' hook settings, start-up files).
            let changes = scan.findings.contains(where: { $0.effect.operationClass != .read })
            for literal in OneLinerScanner.fileLiterals(code.text) {
                // Any code that names a credential file may print or send it (`print(open('~/.aws/credentials').read())`).
                if SensitivePaths.isCredential(literal) { findings.append(SensitivePaths.credentialRead(literal)) }
                guard changes else { continue }
                if SensitivePaths.isPersistence(literal) { findings.append(SensitivePaths.persistenceWrite(literal)) }
                if literal.containsASCII("/"), let finding = protection.checkPath(literal, writing: true, cwd: cwd, budget: fileSystem, subject: literal) { findings.append(finding) }
            }
            findings.append(
                contentsOf: scan.findings.map { f in
                    var f = f
                    f.subjectSource = subject
                    return f
                })
            return
        }
        if i < args.count, !args[i].isDynamic, rules.knows(Self.basename(args[i].text)) {
            // A script the packs know by name (`python manage.py migrate`).
            match(program: Self.basename(args[i].text), args: Array(args[(i + 1)...]), command: command, subject: subject, depth: depth, into: &findings)
        } else if i < args.count {
            findings.append(.unknown("interpreter-script-file", "runs the script \(args[i].text), whose contents Holdpoint cannot see", subject: subject))
        } else if !command.stdinTexts.isEmpty || command.readsPipe {
            findings.append(.unknown("interpreter-stdin", "runs \(name) code from standard input", subject: subject))
        } else {
            findings.append(.unknown("interpreter-interactive", "starts an interactive \(name)", subject: subject))
        }
    }

    /// `pwsh -NoProfile -Command …`: the code is every word after `-Command`, joined, as
    /// PowerShell joins them; options are matched by any prefix of their names.
    private func analyzePowerShell(name: String, args: [ShellWord], command: SimpleCommand, depth: Int, subject: Subject, into findings: inout [Finding]) {
        let valued = ["executionpolicy", "ep", "windowstyle", "inputformat", "outputformat", "workingdirectory", "wd", "configurationname", "settingsfile", "custompipename"]
        func named(_ option: String, _ full: String, shortest: Int) -> Bool { option.count >= shortest && full.hasPrefix(option) }
        var i = 0
        while i < args.count {
            let word = args[i]
            let option = word.text.lowercased().drop(while: { $0 == "-" || $0 == "/" })
            guard !word.isDynamic, word.text.hasPrefix("-") || (name.hasSuffix(".exe") && word.text.hasPrefix("/")), !option.isEmpty else { break }
            let text = String(option)
            if text == "c" || named(text, "command", shortest: 2) {
                let rest = args[(i + 1)...]
                guard !rest.isEmpty, rest.first?.text != "-" else {
                    findings.append(.unknown("interpreter-stdin", "runs \(name) code from standard input", subject: subject))
                    return
                }
                analyzePowerShellCode(ShellWord.joinedText(rest), dynamic: rest.contains(where: \.isDynamic), depth: depth, subject: subject, into: &findings)
                return
            }
            if text == "e" || text == "ec" || named(text, "encodedcommand", shortest: 2) {
                findings.append(.unknown("oneliner-opaque", "runs base64-encoded \(name) code (-EncodedCommand)", subject: subject))
                return
            }
            if text == "f" || named(text, "file", shortest: 2) {
                let target = i + 1 < args.count ? args[i + 1].text : "-"
                findings.append(
                    target == "-"
                        ? .unknown("interpreter-stdin", "runs \(name) code from standard input", subject: subject)
                        : .unknown("interpreter-script-file", "runs the script \(target), whose contents Holdpoint cannot see", subject: subject))
                return
            }
            if text == "v" || text == "help" || text == "?" || text == "h" || named(text, "version", shortest: 2) {
                findings.append(Finding(rule: "read-only-command", message: "prints version or help", effect: RuleEffect(operationClass: .read), subject: subject))
                return
            }
            if text == "noexit" || text == "noe" {
                findings.append(.unknown("interpreter-interactive", "stays in an interactive \(name)", subject: subject))
            }
            i += valued.contains(where: { named(text, $0, shortest: 2) }) || text == "w" ? 2 : 1
        }
        if i < args.count {
            // Windows PowerShell reads the remaining words as a command; pwsh as a script file.
            if name.hasPrefix("powershell"), !args[i].text.lowercased().hasSuffix(".ps1") {
                let rest = args[i...]
                analyzePowerShellCode(ShellWord.joinedText(rest), dynamic: rest.contains(where: \.isDynamic), depth: depth, subject: subject, into: &findings)
            } else {
                findings.append(.unknown("interpreter-script-file", "runs the script \(args[i].text), whose contents Holdpoint cannot see", subject: subject))
            }
        } else if !command.stdinTexts.isEmpty {
            for text in command.stdinTexts { analyzePowerShellCode(text, dynamic: false, depth: depth, subject: subject, into: &findings) }
        } else if command.readsPipe {
            findings.append(.unknown("interpreter-stdin", "runs \(name) code from standard input", subject: subject))
        } else {
            findings.append(.unknown("interpreter-interactive", "starts an interactive \(name)", subject: subject))
        }
    }

    private func analyzePowerShellCode(_ code: String, dynamic: Bool, depth: Int, subject: Subject, into findings: inout [Finding]) {
        if dynamic {
            findings.append(.unknown("oneliner-dynamic", "runs PowerShell code only known at run time", subject: subject))
        }
        let reading = PowerShellReader.read(code)
        for line in reading.shellCommands {
            analyze(line: line, depth: depth + 1, into: &findings)
        }
        findings.append(
            contentsOf: reading.findings.map { f in
                var f = f
                f.subjectSource = subject
                return f
            })
    }

    /// Standard modules that only print or inspect (`python3 -m json.tool`).
    static let readOnlyModules: Set<String> = ["json.tool", "pydoc", "site", "platform", "sysconfig", "this", "tokenize", "calendar", "dis", "pyclbr", "tabnanny", "locale", "mimetypes"]

    /// `python -m MODULE …`: a read-only standard module reads; a module that is also a
    /// program the packs know (`pip`, `pytest`, `http.server`) is classified as that program;
    /// any other runs code Holdpoint cannot see.
    private func pythonModule(_ module: ShellWord, args: [ShellWord], command: SimpleCommand, subject: Subject, depth: Int, into findings: inout [Finding]) {
        if module.isDynamic {
            findings.append(.unknown("interpreter-module", "runs a Python module only known at run time", subject: subject))
        } else if Self.readOnlyModules.contains(module.text) {
            findings.append(Finding(rule: "read-only-command", message: "runs a read-only standard module", effect: RuleEffect(operationClass: .read), subject: subject))
        } else if rules.knows(module.text) {
            match(program: module.text, args: args, command: command, subject: subject, depth: depth, into: &findings)
        } else {
            findings.append(.unknown("interpreter-module", "runs the Python module \(module.text), whose code Holdpoint cannot see", subject: subject))
        }
    }

    /// The setup and statements `python -m timeit` runs, as one piece of code.
    static func timeitCode(_ args: [ShellWord]) -> ShellWord {
        let valueOptions: Set<String> = ["-n", "--number", "-r", "--repeat", "-u", "--unit"]
        var parts: [String] = []
        var dynamic = false
        var i = 0
        while i < args.count {
            let word = args[i]
            if word.text == "-s" || word.text == "--setup", i + 1 < args.count {
                parts.append(args[i + 1].text)
                dynamic = dynamic || args[i + 1].isDynamic
                i += 2
                continue
            }
            if word.text.hasPrefix("--setup=") {
                parts.append(String(word.text.dropFirst("--setup=".count)))
                dynamic = dynamic || word.isDynamic
            } else if valueOptions.contains(word.text) {
                i += 1
            } else if !word.text.hasPrefix("-") || word.isDynamic {
                parts.append(word.text)
                dynamic = dynamic || word.isDynamic
            }
            i += 1
        }
        return ShellWord(text: parts.joined(separator: "\n"), isDynamic: dynamic)
    }

    // MARK: - Rules

    /// `calledByName`: the program was named by a plain word, not a path, so a program no
    /// rule knows may be read from its sub-command words (`UnknownProgramReading`).
    private func match(program: String, args: [ShellWord], command: SimpleCommand, subject: Subject, depth: Int, calledByName: Bool = false, into findings: inout [Finding]) {
        let first = findings.count
        // What this program's rules found, and what they found inside it that no inner
        // program claims, is this program's.
        defer { for i in first..<findings.count where findings[i].program == nil { findings[i].program = program } }
        embeddedCode(program: program, args: args, subject: subject, depth: depth, into: &findings)
        findings += SensitivePaths.findings(program: program, args: args)
        if projectTask(program: program, args: args, subject: subject, depth: depth, into: &findings) { return }
        var view = ArgumentView(args)
        let entry = rules.entry(for: program)
        view.limitSubcommandReach { entry.starts(with: $0) }
        var matchedOrdinary = false
        var firstFallback: SharedRule?
        let tried = entry.forEachCandidate(view.positionals, reach: view.subcommandReach) { shared in
            guard view.satisfies(shared) else { return }
            if shared.rule.fallback {
                if firstFallback == nil { firstFallback = shared }
            } else {
                matchedOrdinary = true
                findings.append(Finding(rule: shared.rule.id, message: shared.rule.message, effect: shared.rule.effect, subject: subject))
            }
        }
        // `ps e`, `ps auxeww`: BSD-style options without a dash, `e` among them, print every
        // process's environment after its command (the secrets of all of them).
        if program == "ps", Self.psShowsEnvironment(args) {
            analyze(line: "printenv", depth: depth + 1, into: &findings)
        }
        // `openssl s_client -connect host:443 </dev/null` sends nothing: it shows the server's
        // certificate chain. Without that explicit empty input it may carry whatever the
        // agent's shell feeds it, as the rule says. Only for a command typed as it stands
        // (depth 0): a wrapper's inner command has lost its redirections to the outer analysis.
        if matchedOrdinary, depth == 0, program == "openssl", view.positionals.first?.text == "s_client", Self.readsNothing(command),
            let tls = findings[first...].firstIndex(where: { $0.rule == "network-tls-connection" })
        {
            findings[tls] = Finding(
                rule: "network-tls-handshake", message: "connects only to show the server's certificate: nothing is sent (no input)", effect: RuleEffect(operationClass: .read),
                subject: subject)
        }
        var sawContent = false
        let sqlClient = entry.sqlClient
        if let sqlClient {
            sawContent = analyzeSQLClient(sqlClient, args: args, command: command, subject: subject, into: &findings)
        }
        if program == "find" || program == "fd", let exec = findExec(args) {
            inner(exec, command: command, depth: depth, into: &findings)
            sawContent = true
        }
        // `kubectl exec POD -- CMD`, `docker exec CONTAINER CMD`: the exec is what CMD is (a
        // read stays a read); without a command to read (an interactive shell) it is unknown.
        if view.positionals.first?.text == "exec", ["kubectl", "oc", "docker", "podman"].contains(program),
            let dash = args.firstIndex(where: { $0.text == "--" }), dash + 1 < args.count
        {
            inner(Array(args[(dash + 1)...]), command: command, depth: depth, into: &findings)
            sawContent = true
        } else if let verb = view.positionals.first?.text, verb == "exec" || verb == "container", ["docker", "podman", "nerdctl"].contains(program),
            let words = Self.containerExecCommand(args)
        {
            inner(words, command: command, depth: depth, into: &findings)
            sawContent = true
        } else if ["docker", "podman", "nerdctl"].contains(program), let words = Self.containerRunCommand(args) {
            // `docker run -v /srv:/srv alpine rm -rf /srv`: what the container is told to run is
            // classified too (the run itself stays what its rule says). A word no rule knows
            // may be an argument to the image's own entrypoint, so it adds nothing here.
            var nested: [Finding] = []
            inner(words, command: command, depth: depth, into: &nested)
            findings += nested.filter { $0.rule != "unknown-command" }
        }
        if matchedOrdinary || sawContent { return }
        if let firstFallback {
            let rule = firstFallback.rule
            findings.append(Finding(rule: rule.id, message: rule.message, effect: rule.effect, subject: subject))
        } else if let sqlClient, sqlClient.subcommand == nil || view.positionals.first?.text == sqlClient.subcommand {
            let readsFile = command.redirections.contains { $0.op == "<" || $0.op == "0<" }
            if command.readsPipe || readsFile || args.contains(where: { $0.text == "-f" || $0.text == "--file" || $0.text.hasPrefix("--file=") }) {
                findings.append(.unknown("sql-script", "\(program) runs SQL from a file or a pipe, which Holdpoint cannot see", subject: subject))
            } else {
                findings.append(Finding(rule: "sql-interactive", message: "\(program) with no SQL on the command line", effect: RuleEffect(operationClass: .read), subject: subject))
            }
        } else if calledByName, tried == 0, !rules.knows(program), let reading = rules.unknownPrograms.reading(program: program, args: args, subject: subject) {
            findings.append(reading)
        } else {
            findings.append(.unknown("unknown-command", "no rule knows '\(program)'", subject: subject))
        }
    }

    /// `ps`'s BSD options (a first word of letters, no dash) include `e`: environments shown.
    static func psShowsEnvironment(_ args: [ShellWord]) -> Bool {
        guard let first = args.first, !first.isDynamic, !first.text.hasPrefix("-"), first.text.utf8.count <= 16 else { return false }
        return first.text.contains("e") && first.text.allSatisfy { $0.isASCII && $0.isLetter }
    }

    /// The command's standard input is explicitly empty: `</dev/null`, and no pipe,
    /// here-document or other input redirection.
    static func readsNothing(_ command: SimpleCommand) -> Bool {
        let inputs = command.redirections.filter { $0.op == "<" || $0.op == "0<" || $0.op == "<>" }
        return !command.readsPipe && command.stdinTexts.isEmpty && !inputs.isEmpty && inputs.allSatisfy { !$0.target.isDynamic && $0.target.text == "/dev/null" }
    }

    /// `make TARGET` and `npm run SCRIPT` (yarn, pnpm, bun): the recipe or script the
    /// project defines is read and classified as if typed, on top of a supervised floor (the
    /// project's own code runs). Returns true when it handled the command.
    private func projectTask(program: String, args: [ShellWord], subject: Subject, depth: Int, into findings: inout [Finding]) -> Bool {
        guard let task = ProjectTasks.task(program: program, args: args) else { return false }
        // A Makefile fed by the command itself (a pipe, a here-string) is no project file:
        // what it runs is whatever came in.
        if task.file == "-" || task.file.hasPrefix("/dev/") || task.file.hasPrefix("/proc/") {
            findings.append(.unknown("project-task-stdin", "\(program) reads its Makefile from \(task.file): what it runs is not the project's", subject: subject))
            return true
        }
        if ProjectTasks.isDryRun(program: program, args: args) {
            findings.append(Finding(rule: "project-task-dry-run", message: "prints what \(task.what) would run, without running it", effect: RuleEffect(operationClass: .read), subject: subject))
            return true
        }
        findings.append(Finding(rule: "project-task", message: "runs the project's \(task.what)", effect: RuleEffect(operationClass: .read, tier: .supervised), subject: subject))
        for (name, value) in task.overrides {
            if name == "SHELL" || name == ".SHELLFLAGS" || name == "MAKEFILES" {
                findings.append(.unknown("project-task-shell", "sets \(name) for \(program): every recipe runs through what it names", subject: subject))
            } else if ProjectTasks.programVariables.contains(name) {
                // `make CC='rm -rf /' all`: the value runs wherever a recipe says `$(CC)`.
                analyze(line: value, depth: depth + 1, into: &findings)
            }
        }
        guard let text = projectFile(task.file), let lines = task.lines(text) else {
            if task.fileNamed {
                findings.append(.unknown("project-task-unread", "\(program) runs the Makefile \(task.file), which cannot be read here", subject: subject))
            } else if task.soundsFarReaching {
                findings.append(
                    .unknown("project-task-unread", "what \(task.what) runs cannot be read here (\(task.file)), and its name says it deploys, releases, migrates or destroys", subject: subject))
            } else {
                findings.append(
                    Finding(
                        rule: "project-task", message: "what \(task.what) runs cannot be read here (\(task.file))",
                        effect: RuleEffect(operationClass: .read, tier: .supervised), subject: subject))
            }
            return true
        }
        for line in lines.prefix(64) { analyze(line: line, depth: depth + 1, into: &findings) }
        return true
    }

    /// What a program runs from its own options or script (`EmbeddedCode`).
    private func embeddedCode(program: String, args: [ShellWord], subject: Subject, depth: Int, into findings: inout [Finding]) {
        for part in EmbeddedCode.parts(program: program, args: args) {
            switch part {
            case .shell(let line): analyze(line: line, depth: depth + 1, into: &findings)
            case .finding(let rule, let message, let effect): findings.append(Finding(rule: rule, message: message, effect: effect, subject: subject))
            }
        }
    }

    private func inner(_ words: [ShellWord], command: SimpleCommand, depth: Int, into findings: inout [Finding]) {
        var nested = command
        nested.redirections = []
        nested.stdinTexts = []
        analyze(command: nested, words: words, script: ShellScript(commands: [], problems: []), depth: depth + 1, into: &findings)
    }

    /// The command of `docker exec [OPTIONS] CONTAINER CMD…` (also `docker container exec`),
    /// written without `--`.
    static func containerExecCommand(_ args: [ShellWord]) -> [ShellWord]? {
        let valueOptions: Set<String> = ["-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys"]
        var i = 0
        if i < args.count, args[i].text == "container" { i += 1 }
        guard i < args.count, args[i].text == "exec" else { return nil }
        i += 1
        while i < args.count, args[i].text.hasPrefix("-"), !args[i].isDynamic {
            if args[i].text == "--" { return nil }
            i += valueOptions.contains(args[i].text) ? 2 : 1
        }
        // The container, then what runs in it.
        guard i + 1 < args.count else { return nil }
        return Array(args[(i + 1)...])
    }

    /// Options of `docker run` (and podman's, nerdctl's) that take a value as the next word.
    static let containerRunValueOptions: Set<String> = [
        "-a", "--attach", "-c", "--cpu-shares", "--cidfile", "--cpus", "--cpuset-cpus", "--cpuset-mems", "--device", "--dns", "--dns-search",
        "--dns-option", "-e", "--env", "--env-file", "--entrypoint", "--expose", "--gpus", "--group-add", "-h", "--hostname", "--add-host",
        "--health-cmd", "--health-interval", "--health-retries", "--health-timeout", "--health-start-period", "--ip", "--ip6", "--ipc",
        "--isolation", "-l", "--label", "--label-file", "--link", "--log-driver", "--log-opt", "--mac-address", "-m", "--memory",
        "--memory-swap", "--memory-reservation", "--mount", "--name", "--network", "--net", "--network-alias", "--oom-score-adj", "-p",
        "--publish", "--pid", "--platform", "--pull", "--restart", "--runtime", "--security-opt", "--shm-size", "--stop-signal",
        "--stop-timeout", "--storage-opt", "--sysctl", "--tmpfs", "-u", "--user", "--ulimit", "--userns", "--uts", "-v", "--volume",
        "--volumes-from", "-w", "--workdir", "--cgroupns", "--cgroup-parent", "--blkio-weight", "--pids-limit", "--cap-add", "--cap-drop",
        "--detach-keys", "--domainname", "--kernel-memory", "--volume-driver", "--annotation", "--arch", "--os", "--pod", "--secret",
    ]

    /// The command of `docker run [OPTIONS] IMAGE CMD…` (also `container run`): with
    /// `--entrypoint PROGRAM`, that program and the words after the image. Nil when nothing
    /// is given to run (the image's own command runs) or the options cannot be followed.
    static func containerRunCommand(_ args: [ShellWord]) -> [ShellWord]? {
        var i = 0
        if i < args.count, args[i].text == "container" { i += 1 }
        guard i < args.count, args[i].text == "run" else { return nil }
        i += 1
        var entrypoint: ShellWord?
        while i < args.count, args[i].text.hasPrefix("-"), !args[i].isDynamic {
            let option = args[i].text
            if option == "--" { return nil }
            if option.hasPrefix("--entrypoint=") { entrypoint = ShellWord(text: String(option.dropFirst("--entrypoint=".count))) }
            if containerRunValueOptions.contains(option) {
                if option == "--entrypoint", i + 1 < args.count { entrypoint = args[i + 1] }
                i += 2
            } else {
                i += 1
            }
        }
        // The image, then what runs in it.
        guard i < args.count else { return nil }
        let rest = Array(args[(i + 1)...])
        if let entrypoint, !entrypoint.text.isEmpty { return [entrypoint] + rest }
        return rest.isEmpty ? nil : rest
    }

    /// `find … -exec CMD {} ;` and `-execdir`, `-ok`, `-okdir`.
    private func findExec(_ args: [ShellWord]) -> [ShellWord]? {
        guard let start = args.firstIndex(where: { ["-exec", "-execdir", "-ok", "-okdir"].contains($0.text) }) else { return nil }
        // Searching a directory of credentials (`find ~/.ssh -type f -exec cat {} +`), each
        // file found is one of them: `{}` is `~/.ssh/*`, which the credential checks read.
        let roots = args.prefix { !$0.text.hasPrefix("-") && $0.text != "(" && $0.text != "!" }
        let credentials = roots.first { !$0.isDynamic && SensitivePaths.isCredentialStore(Substring($0.text)) }
        let found = credentials.map { ShellWord(text: ($0.text.hasSuffix("/") ? $0.text : $0.text + "/") + "*") } ?? ShellWord(text: "{found file}", isDynamic: true)
        var words: [ShellWord] = []
        for word in args[(start + 1)...] {
            if word.text == ";" || word.text == "+" { break }
            words.append(word.text == "{}" ? found : word)
        }
        return words.isEmpty ? nil : words
    }

    /// sqlite3's own dot-commands, one per line: those that only show (`.tables`,
    /// `.schema`) read; `.shell` and `.system` run a command line; the rest write files,
    /// load code or read SQL Holdpoint cannot see. Returns the SQL without them.
    static let sqliteShowingCommands: Set<String> = [
        ".tables", ".table", ".schema", ".indexes", ".indices", ".databases", ".dbinfo", ".fullschema", ".show", ".help", ".mode", ".headers", ".header", ".stats", ".timer",
        ".width", ".nullvalue", ".separator", ".dump", ".print", ".echo", ".changes", ".eqp", ".explain", ".lint", ".expert", ".selftest", ".sha3sum", ".version", ".timeout",
        ".bail", ".columns", ".list", ".box", ".markdown", ".json",
    ]

    private func sqliteDotCommands(in sql: String, subject: Subject, into findings: inout [Finding]) -> String {
        var rest: [Substring] = []
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix(".") else {
                rest.append(line)
                continue
            }
            let name = String(trimmed.prefix { $0 != " " && $0 != "\t" })
            let argument = trimmed.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
            if name == ".shell" || name == ".system" {
                analyze(line: String(argument), depth: 1, into: &findings)
            } else if Self.sqliteShowingCommands.contains(name) {
                findings.append(Finding(rule: "sql-read", message: "sqlite3 \(name) shows the database", effect: RuleEffect(operationClass: .read), subject: subject))
            } else {
                findings.append(.unknown("sql-client-command", "sqlite3 \(name) writes files, loads code or reads SQL Holdpoint cannot see", subject: subject))
            }
        }
        return rest.joined(separator: "\n")
    }

    /// Returns true when SQL was found and analysed.
    /// The database clients' own commands inside the SQL they are given: `\! cmd` (psql,
    /// mysql) runs a shell command; `\o |cmd`, `\g |cmd`, `\w |cmd` and `\copy … program`
    /// pipe to one; `\i file` runs SQL Holdpoint cannot see.
    private func clientCommands(in sql: String, subject: Subject, into findings: inout [Finding]) {
        guard sql.containsASCII("\\") else { return }
        for line in sql.split(whereSeparator: { $0 == "\n" }) {
            var rest = Substring(line)
            while let slash = rest.firstIndex(of: "\\") {
                let command = rest[rest.index(after: slash)...]
                if command.hasPrefix("!") {
                    analyze(line: String(command.dropFirst()), depth: 1, into: &findings)
                    break
                }
                let word = command.prefix { $0.isLetter }
                let argument = command.dropFirst(word.count).drop { $0 == " " }
                if ["o", "out", "g", "w", "gx"].contains(word), argument.hasPrefix("|") {
                    findings.append(.unknown("sql-client-shell", "the client pipes output to a shell command (\\\(word) |…)", subject: subject))
                } else if word == "copy", argument.lowercased().contains("program") {
                    findings.append(.unknown("sql-client-shell", "\\copy … program runs a shell command", subject: subject))
                } else if (word == "copy" && Self.copiesToFile(argument)) || (["o", "out", "g", "w", "gx"].contains(word) && !argument.isEmpty) {
                    findings.append(
                        Finding(
                            rule: "sql-client-write-file", message: "the client writes query results or data to a file (\\\(word))",
                            effect: RuleEffect(operationClass: .patch), subject: subject))
                } else if ["i", "ir", "include", "include_relative"].contains(word) {
                    findings.append(.unknown("sql-script", "runs SQL from the file \(argument.prefix(60)), which Holdpoint cannot see", subject: subject))
                }
                rest = command
            }
        }
    }

    /// `\copy t TO 'file'` (not `TO STDOUT`, not `FROM`).
    static func copiesToFile(_ argument: Substring) -> Bool {
        let words = argument.lowercased().split(separator: " ")
        guard let to = words.firstIndex(of: "to"), !words.contains("from"), to + 1 < words.count else { return false }
        return !["stdout", "pstdout"].contains(words[to + 1])
    }

    private func analyzeSQLClient(_ client: SQLClient, args: [ShellWord], command: SimpleCommand, subject: Subject, into findings: inout [Finding]) -> Bool {
        var texts: [ShellWord] = []
        var i = 0
        var positionals: [ShellWord] = []
        while i < args.count {
            let word = args[i]
            if client.flags.contains(where: { $0.spellings.contains(word.text) }), i + 1 < args.count {
                texts.append(args[i + 1])
                i += 2
                continue
            }
            if let spec = client.flags.flatMap(\.spellings).first(where: { $0.hasPrefix("--") && word.text.hasPrefix($0 + "=") }) {
                texts.append(ShellWord(text: String(word.text.dropFirst(spec.count + 1)), isDynamic: word.isDynamic))
            } else if let spec = client.flags.flatMap(\.spellings).first(where: { $0.count == 2 && !$0.hasPrefix("--") && word.text.count > 2 && word.text.hasPrefix($0) }) {
                // The value attached: `mysql -e"DROP DATABASE prod"`.
                texts.append(ShellWord(text: String(word.text.dropFirst(spec.count)), isDynamic: word.isDynamic))
            } else if !word.text.hasPrefix("-") {
                positionals.append(word)
            }
            i += 1
        }
        if let subcommand = client.subcommand {
            // `bq query --max_rows 10 'SELECT …'`: the words after the sub-command that hold a
            // statement (a space), or else its last word.
            guard positionals.first?.text == subcommand else { return false }
            let rest = positionals.dropFirst()
            let statements = rest.filter { $0.isDynamic || $0.text.contains(" ") || $0.text.contains("\n") }
            if let last = rest.last { texts.append(contentsOf: statements.isEmpty ? [last] : statements) }
        } else if let n = client.positional, positionals.count >= n {
            texts.append(positionals[n - 1])
        }
        texts.append(contentsOf: command.stdinTexts.map { ShellWord(text: $0) })
        guard !texts.isEmpty else { return false }
        for text in texts {
            if text.isDynamic {
                findings.append(.unknown("sql-dynamic", "SQL only known at run time", subject: subject))
            }
            clientCommands(in: text.text, subject: subject, into: &findings)
            var sql = text.text
            if client.program == "sqlite3", sql.containsASCII(".") { sql = sqliteDotCommands(in: sql, subject: subject, into: &findings) }
            for finding in SQLAnalyzer.analyze(sql) {
                var finding = finding
                finding.subjectSource = subject
                findings.append(finding)
            }
        }
        return true
    }
}

/// A command's arguments split once into flags and positionals, for matching many rules.
struct ArgumentView {
    var positionals: [ShellWord] = []
    /// Where each positional is in `all`.
    private var positionalIndex: [Int] = []
    let all: [ShellWord]
    /// How many leading positionals may hold the first sub-command word: three (the values
    /// of global options may come first, `kubectl -n prod delete …`), or fewer when an
    /// earlier positional is itself one of the program's sub-commands and no option before
    /// it could take it as its value (`kubectl auth can-i delete pods` asks a question; its
    /// `delete` is no sub-command).
    private(set) var subcommandReach = 3
    /// How many leading words of `all` may be flags: those before the first `--`. The flags
    /// are picked out of `all` as rules ask (`hasFlag`) rather than copied into an array of
    /// their own, one allocation fewer for every command.
    private var flagZone: Int

    init(_ args: [ShellWord]) {
        all = args
        flagZone = args.count
        positionals.reserveCapacity(args.count)
        positionalIndex.reserveCapacity(args.count)
        for (index, arg) in args.enumerated() {
            if index < flagZone, arg.text.utf8.count == 2, arg.text == "--" {
                flagZone = index
                positionals.append(arg)
                continue
            }
            if !Self.isFlag(arg, at: index, zone: flagZone) {
                positionals.append(arg)
                positionalIndex.append(index)
            }
        }
    }

    mutating func limitSubcommandReach(isSubcommand: (String) -> Bool) {
        for p in positionals.indices.prefix(3) where !positionals[p].isDynamic && isSubcommand(positionals[p].text) {
            let at = positionalIndex[p]
            let previous = at > 0 ? all[at - 1] : nil
            // After a flag without '=' the word may be that flag's value: keep looking.
            if let previous, Self.isFlag(previous, at: at - 1, zone: flagZone), !previous.text.containsASCII("=") { continue }
            subcommandReach = p + 1
            return
        }
    }

    private static func isFlag(_ arg: ShellWord, at index: Int, zone: Int) -> Bool {
        index < zone && !arg.isDynamic && arg.text.utf8.count > 1 && arg.text.utf8.first == UInt8(ascii: "-")
    }

    /// Takes the rule's box and reads the fields it needs through it: passed a
    /// `CommandRule` by value, the rule was copied whole for every rule tried.
    func satisfies(_ shared: SharedRule) -> Bool {
        // No `for spec in …` or `contains(where:)` over the rule's lists: they copy each flag
        // spec and glob they hand over (retains and releases for every rule tried).
        if !shared.rule.subcommand.isEmpty && !subcommandMatches(shared.rule.subcommand) { return false }
        if shared.rule.noArgs && positionals.count > shared.rule.subcommand.count { return false }
        if !shared.rule.flagsAny.isEmpty && !shared.rule.flagsAny.indices.contains(where: { hasFlag(shared.rule.flagsAny[$0]) }) { return false }
        for i in shared.rule.flagsAll.indices where !hasFlag(shared.rule.flagsAll[i]) { return false }
        for i in shared.rule.flagsNone.indices where hasFlag(shared.rule.flagsNone[i]) { return false }
        if !shared.rule.argsAny.isEmpty {
            let hit = positionals.indices.contains { p in
                (positionals[p].isDynamic && shared.rule.unknownArgsMatch) || shared.rule.argsAny.anyMatches(positionals[p].text)
            }
            if !hit { return false }
        }
        if !shared.rule.argsAnyOutside.isEmpty {
            let hit = positionals.indices.contains { p in
                !(positionals[p].text.utf8.count == 2 && positionals[p].text == "--") && (positionals[p].isDynamic || !shared.rule.argsAnyOutside.anyMatches(positionals[p].text))
            }
            if !hit { return false }
        }
        if !shared.rule.argsNoneMatch.isEmpty {
            // A run-time value might be anything, the exception's glob included: it does not
            // rule the exception in.
            let hit = positionals.indices.contains { p in !positionals[p].isDynamic && shared.rule.argsNoneMatch.anyMatches(positionals[p].text) }
            if hit { return false }
        }
        if let words = shared.containsWords, !all.contains(where: { words.occurs(in: $0.text) }) { return false }
        return true
    }

    private func hasFlag(_ spec: FlagSpec) -> Bool {
        for i in all.indices
        where Self.isFlag(all[i], at: i, zone: flagZone)
            && spec.matches(all[i].text, next: i + 1 < all.count && !all[i + 1].isDynamic ? all[i + 1].text : nil)
        { return true }
        return false
    }

    /// The sub-command words appear in order among the positionals; the first within the
    /// first three (global options' values may come before it), each next one soon after.
    private func subcommandMatches(_ pattern: [Glob]) -> Bool {
        // Through a buffer pointer: iterating the array, or even calling a method on
        // `pattern[n]`, copied the glob (two retains and two releases) for every rule tried.
        pattern.withUnsafeBufferPointer { pattern in
            var position = 0
            for n in pattern.indices {
                let window = n == 0 ? subcommandReach : 2
                var found = false
                var j = position
                while j < positionals.count && j < position + window {
                    if !positionals[j].isDynamic && pattern[n].matches(positionals[j].text) {
                        found = true
                        position = j + 1
                        break
                    }
                    j += 1
                }
                if !found { return false }
            }
            return true
        }
    }
}
