/// Reads PowerShell code (`pwsh -Command …`, `powershell.exe -c …`) as statements of
/// cmdlets and programs.
///
/// PowerShell is a shell, not a language to scan for shell-outs: every statement runs a
/// cmdlet, a native program or an expression. Each statement is read in one of three ways:
/// - cmdlets that act on files, processes, services and URLs are written as the POSIX
///   command that does the same (`Remove-Item -Recurse -Force /srv` → `rm -r -f -- /srv`),
///   so the shell analysis holds them to the same rules and paths;
/// - other cmdlets are read from their verb, PowerShell's fixed list of approved verbs: `Get`,
///   `Test`, `Select` … only read; `Remove`, `Clear`, `Uninstall` … delete; any other verb
///   changes something and is unknown (gated in production). `-WhatIf` makes any cmdlet a
///   dry run;
/// - anything else is a native program (`kubectl delete ns prod`) and goes to the shell
///   analysis as a command line.
/// Code that cannot be followed is unknown: a command named at run time (`& $cmd`),
/// `Invoke-Expression` of anything but a literal, .NET method calls (`[IO.File]::Delete(…)`,
/// `$file.Delete()`), scripts and modules loaded from files.
///
/// Blocks and parentheses are read as statements of their own, whatever runs them
/// (`ForEach-Object { Remove-Item $_ }`, `if (…) { … }`, `Invoke-Command -ScriptBlock { … }`):
/// code that may run is read as if it runs.
enum PowerShellReader {
    struct Result {
        /// Command lines for the shell analysis: native programs and translated cmdlets.
        var shellCommands: [String] = []
        var findings: [Finding] = []
    }

    /// Past these, the code is unknown rather than read further.
    static let maxStatements = 512
    static let maxDepth = 4

    static func read(_ code: String) -> Result {
        var result = Result()
        read(code, depth: 0, into: &result)
        if result.findings.isEmpty && result.shellCommands.isEmpty {
            result.findings.append(Finding(rule: "powershell-read", message: "PowerShell that only reads", effect: RuleEffect(operationClass: .read), subject: code))
        }
        return result
    }

    private static func read(_ code: String, depth: Int, into result: inout Result) {
        guard depth <= maxDepth else {
            result.findings.append(.unknown("powershell-nested", "PowerShell nested too deeply to follow", subject: code))
            return
        }
        var lexer = Lexer(Array(code.utf8))
        let statements = lexer.statements()
        for inner in lexer.subexpressions { read(inner, depth: depth + 1, into: &result) }
        if lexer.truncated || statements.count > maxStatements {
            result.findings.append(.unknown("powershell-too-long", "PowerShell too long to read in full", subject: code))
        }
        for statement in statements.prefix(maxStatements) {
            for target in statement.redirects where !isNull(target) {
                result.shellCommands.append("tee -a -- " + shellWord(target))
            }
            // A secret variable printed or written out is a secret read; one handed to a
            // program as an argument (`-Headers @{ Authorization = "Bearer $env:TOKEN" }`) is used.
            if printsOrWrites(statement) {
                // Held as printing the environment: the name was judged a secret's here.
                if statement.environmentReads.contains(where: isSecretName) { result.shellCommands.append("printenv") }
            }
            readStatement(statement.words[...], code: code, depth: depth, into: &result)
        }
    }

    // MARK: - Statements

    /// Cmdlets that print their input or write it to a file.
    static let printingCmdlets: Set<String> = [
        "write-output", "write-host", "write-information", "write-verbose", "write-warning", "write-error", "write-debug", "out-file", "out-string",
        "out-host", "set-content", "add-content", "tee-object", "format-table", "format-list", "select-object", "convertto-json", "convertto-csv",
    ]

    /// The statement shows its words (an expression's value is printed) or writes them out.
    private static func printsOrWrites(_ statement: Statement) -> Bool {
        guard let first = statement.words.first else { return !statement.redirects.isEmpty }
        if first.quoted || first.startsExpression || !statement.redirects.isEmpty { return true }
        let name = first.text.lowercased()
        return printingCmdlets.contains(aliases[name] ?? name)
    }

    private static let keywords: Set<String> = [
        "if", "elseif", "else", "foreach", "for", "while", "do", "until", "switch", "try", "catch", "finally", "trap", "param", "begin", "process", "end",
        "return", "exit", "break", "continue", "throw", "in", "data", "dynamicparam", "clean",
    ]
    /// Keywords followed by a name that is not a command: `function Remove-All { … }`.
    private static let namingKeywords: Set<String> = ["function", "filter", "workflow", "configuration", "class", "enum"]
    private static let assignments: Set<String> = ["=", "+=", "-=", "*=", "/=", "%=", "??="]

    /// Keywords, assignments and hash entries taken off before a statement's command; past
    /// this many the statement is unknown rather than read on.
    static let maxPrefixes = 256

    /// Reads one statement: what comes before its command (keywords, assignments, an
    /// expression's `in` or `=`) is taken off word by word, in a loop that only moves forward.
    private static func readStatement(_ statement: ArraySlice<Word>, code: String, depth: Int, into result: inout Result) {
        guard var first = statement.first else { return }
        var rest = statement.dropFirst()
        for word in statement where word.isMethodCall {
            if let method = word.methodName, !readOnlyMethods.contains(method.lowercased()) {
                result.findings.append(.unknown("powershell-method-call", "calls the .NET method \(escapedName(method)), whose effect Holdpoint cannot see", subject: code))
            }
        }
        /// Moves to the next word; false at the end of the statement.
        func advance() -> Bool {
            guard let next = rest.first else { return false }
            first = next
            rest = rest.dropFirst()
            return true
        }
        var prefixes = 0
        while true {
            prefixes += 1
            guard prefixes <= maxPrefixes else {
                result.findings.append(.unknown("powershell-too-long", "a PowerShell statement with too many keywords or assignments to read", subject: code))
                return
            }
            let name = first.text.lowercased()
            if !first.quoted {
                if name == "&" || name == "." {
                    guard let target = rest.first, !target.dynamic else {
                        result.findings.append(.unknown("powershell-call-operator", "runs a command named at run time (\(name))", subject: code))
                        return
                    }
                    if name == "." || target.text.lowercased().hasSuffix(".ps1") {
                        result.findings.append(.unknown("powershell-script", "runs the PowerShell script \(escapedName(target.text)), whose contents Holdpoint cannot see", subject: code))
                        return
                    }
                    result.shellCommands.append(nativeLine(rest))
                    return
                }
                if keywords.contains(name) {
                    guard advance() else { return }
                    continue
                }
                if namingKeywords.contains(name) {
                    guard advance(), advance() else { return }
                    continue
                }
                if name == "using" {
                    if rest.first?.text.lowercased() == "module" {
                        result.findings.append(.unknown("powershell-module", "loads a PowerShell module, whose code Holdpoint cannot see", subject: code))
                    }
                    return
                }
            }
            // `@{ Name = Get-Date }`, `$x=Remove-Item …`: what is assigned is read on.
            if let op = rest.first, !op.quoted, assignments.contains(op.text) {
                guard advance(), advance() else { return }
                continue
            }
            if let assigned = first.assigned {
                if let assigned {
                    first = assigned
                } else {
                    guard advance() else { return }
                }
                continue
            }
            // An expression: a variable, a value, a type. What it assigns or pipes is read on.
            if first.quoted || first.startsExpression {
                guard let op = rest.firstIndex(where: { !$0.quoted && (assignments.contains($0.text) || $0.text.lowercased() == "in") }) else { return }
                rest = rest[(op + 1)...]
                guard advance() else { return }
                continue
            }
            readCommand(first, args: Array(rest), code: code, depth: depth, into: &result)
            return
        }
    }

    private static func readCommand(_ first: Word, args: [Word], code: String, depth: Int, into result: inout Result) {
        let typed = first.text.lowercased()
        let cmdlet = aliases[typed] ?? typed
        // `rm`, `ls`, `curl` … are programs outside Windows and aliases on it: read both ways.
        if unixNames.contains(typed) { result.shellCommands.append(nativeLine([first] + args)) }
        let parameters = Parameters(args)
        if testRunners.contains(cmdlet) {
            result.findings.append(
                Finding(
                    rule: "powershell-test-runner", message: "\(escapedName(first.text)) runs the project's tests or checks",
                    effect: RuleEffect(operationClass: .read, tier: .supervised), subject: code))
            return
        }
        if parameters.whatIf, cmdlet.contains("-") {
            result.findings.append(
                Finding(rule: "powershell-whatif", message: "\(escapedName(first.text)) -WhatIf shows what it would do, without doing it", effect: RuleEffect(operationClass: .read), subject: code))
            return
        }
        if let translated = translate(cmdlet, parameters, code: code, depth: depth, into: &result) {
            if let translated { result.shellCommands.append(translated) }
            return
        }
        guard let dash = cmdlet.firstIndex(of: "-"), cmdlet.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) }) else {
            if !unixNames.contains(typed) { result.shellCommands.append(nativeLine([first] + args)) }
            return
        }
        let verb = String(cmdlet[..<dash])
        let noun = String(cmdlet[cmdlet.index(after: dash)...])
        let shown = escapedName(first.text)
        if readCmdlets.contains(cmdlet) || (readVerbs.contains(verb) && !writingReadVerbCmdlets.contains(cmdlet)) {
            if secretVerbs.contains(verb), isSecretName(noun) {
                result.findings.append(
                    Finding(
                        rule: "powershell-secret-read", message: "reads secrets (\(shown))",
                        effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated), subject: code))
            } else if !parameters.positionals.isEmpty || !parameters.values.isEmpty {
                // A reading cmdlet given paths: credentials among them are held.
                for path in parameters.positionals + parameters.values(of: pathParameters) where SensitivePaths.isCredential(path.text) {
                    result.findings.append(SensitivePaths.credentialRead(path.text))
                }
            }
            return
        }
        if deleteVerbs.contains(verb) || wipingCmdlets.contains(cmdlet) {
            let wipes = destructiveNouns.contains(noun) || wipingCmdlets.contains(cmdlet)
            result.findings.append(
                Finding(
                    rule: "powershell-delete", message: "\(shown) removes or disables what it names",
                    effect: RuleEffect(operationClass: .delete, destructive: wipes, irreversible: wipes, dataLoss: wipes), subject: code))
            return
        }
        result.findings.append(.unknown("powershell-change", "\(shown) changes state (its verb '\(verb)' is not one that only reads)", subject: code))
    }

    // MARK: - Cmdlets written as POSIX commands

    /// The POSIX command that does what `cmdlet` does, `.some(nil)` when the cmdlet was read
    /// here with nothing to hand on, nil when it is not one of these.
    private static func translate(_ cmdlet: String, _ p: Parameters, code: String, depth: Int, into result: inout Result) -> String?? {
        switch cmdlet {
        case "remove-item":
            // No path: what comes down the pipe (`Get-ChildItem /srv | Remove-Item`).
            let paths = p.positionals + p.values(of: ["path", "literalpath"])
            let recurse = p.has(["recurse"]) ? "-r " : ""
            return "rm \(recurse)-f -- " + (paths.isEmpty ? "\"$PSItem\"" : paths.map(shellWord).joined(separator: " "))
        case "get-content", "import-csv", "import-clixml", "format-hex", "get-filehash", "select-xml":
            let paths = (cmdlet == "select-xml" ? [] : p.positionals) + p.values(of: ["path", "literalpath"])
            return .some(readPaths(paths))
        case "select-string":
            let paths = Array(p.positionals.dropFirst(p.values(of: ["pattern"]).isEmpty ? 1 : 0)) + p.values(of: ["path", "literalpath"])
            return .some(readPaths(paths))
        case "get-childitem", "get-item", "get-itemproperty", "get-itempropertyvalue", "test-path", "resolve-path":
            return .some(environmentRead(p.positionals + p.values(of: ["path", "literalpath"])))
        case "clear-content":
            // Empties the files: what `truncate -s 0` does.
            let targets = p.positionals + p.values(of: ["path", "literalpath"])
            guard !targets.isEmpty else { return .some(nil) }
            return "truncate -s 0 -- " + targets.map(shellWord).joined(separator: " ")
        case "set-content", "add-content", "out-file", "tee-object", "export-csv", "export-clixml", "new-item", "set-item":
            let targets = p.positionals.prefix(1) + p.values(of: ["path", "literalpath", "filepath"])
            guard !targets.isEmpty else { return .some(nil) }
            // Only `Add-Content` and `-Append` add to a file; the others replace what it held.
            let appends = cmdlet == "add-content" || p.has(["append"])
            return (appends ? "tee -a -- " : "tee -- ") + targets.map(shellWord).joined(separator: " ")
        case "copy-item", "move-item", "rename-item":
            let sources = p.positionals + p.values(of: ["path", "literalpath"])
            let destination = p.values(of: ["destination", "newname"])
            guard !sources.isEmpty || !destination.isEmpty else { return .some(nil) }
            let program = cmdlet == "copy-item" ? "cp -r" : "mv"
            return "\(program) -- " + (sources + destination).map(shellWord).joined(separator: " ")
        case "stop-computer": return "shutdown -h now"
        case "restart-computer": return "reboot"
        case "stop-process":
            let ids = p.positionals + p.values(of: ["id"])
            let names = p.values(of: ["name", "processname"])
            var lines: [String] = []
            if !ids.isEmpty { lines.append("kill -9 " + ids.map(shellWord).joined(separator: " ")) }
            if !names.isEmpty { lines.append("pkill -9 -x " + names.map(shellWord).joined(separator: " ")) }
            if lines.isEmpty { lines.append("kill -9 \"$PID\"") }
            return .some(lines.joined(separator: "; "))
        case "stop-service", "restart-service", "start-service", "suspend-service":
            let names = p.positionals + p.values(of: ["name", "displayname"])
            let action = ["stop-service": "stop", "restart-service": "restart", "start-service": "start", "suspend-service": "stop"][cmdlet] ?? "stop"
            return "systemctl \(action) -- " + (names.isEmpty ? "\"$SERVICE\"" : names.map(shellWord).joined(separator: " "))
        case "invoke-webrequest", "invoke-restmethod":
            var line = "curl"
            if let method = p.values(of: ["method", "custommethod"]).first { line += " -X " + shellWord(method) }
            for file in p.values(of: ["outfile"]) { line += " -o " + shellWord(file) }
            for file in p.values(of: ["infile"]) { line += " --data-binary @" + shellWord(file) }
            for body in p.values(of: ["body", "form"]) { line += " --data " + shellWord(body) }
            let urls = p.positionals.prefix(1) + p.values(of: ["uri"])
            return line + " -- " + (urls.isEmpty ? "\"$URL\"" : urls.map(shellWord).joined(separator: " "))
        case "start-process":
            let program = p.positionals.prefix(1) + p.values(of: ["filepath"])
            guard let target = program.first, !target.dynamic else {
                result.findings.append(.unknown("powershell-start-process", "starts a program named at run time", subject: code))
                return .some(nil)
            }
            let arguments = p.positionals.dropFirst() + p.values(of: ["argumentlist", "args"])
            // One string is a command line to split (`-ArgumentList '-c "rm -rf /"'`); a list
            // is the arguments one by one (`-ArgumentList '-c', 'rm -rf /'`).
            if arguments.count == 1, let only = arguments.first, !only.dynamic {
                return shellWord(target) + " " + only.text
            }
            return ([target] + arguments).map(shellWord).joined(separator: " ")
        case "invoke-expression":
            let texts = p.positionals + p.values(of: ["command"])
            if texts.isEmpty || texts.contains(where: \.dynamic) {
                result.findings.append(.unknown("powershell-invoke-expression", "runs PowerShell code built at run time (Invoke-Expression)", subject: code))
            } else {
                for text in texts { read(text.text, depth: depth + 1, into: &result) }
            }
            return .some(nil)
        case "invoke-command", "start-job", "start-threadjob":
            if !p.values(of: ["filepath"]).isEmpty {
                result.findings.append(.unknown("powershell-script", "runs a PowerShell script whose contents Holdpoint cannot see", subject: code))
            }
            // The script block was read as statements of its own.
            return .some(nil)
        case "import-module", "add-type", "enter-pssession", "new-pssession", "invoke-item", "register-scheduledjob", "register-scheduledtask", "set-alias", "new-alias",
            "set-executionpolicy", "update-typedata", "update-formatdata", "new-object":
            result.findings.append(.unknown("powershell-opaque", "\(cmdlet) loads, starts or redefines code Holdpoint cannot follow", subject: code))
            return .some(nil)
        default:
            return nil
        }
    }

    /// `cat` of the files read; `printenv` for the `env:` drive (`Get-Content env:TOKEN`).
    private static func readPaths(_ paths: [Word]) -> String? {
        if let env = environmentRead(paths) { return env }
        return paths.isEmpty ? nil : "cat -- " + paths.map(shellWord).joined(separator: " ")
    }

    /// `Get-ChildItem env:`, `Get-Item env:AWS_SECRET_ACCESS_KEY`: the environment, printed.
    private static func environmentRead(_ paths: [Word]) -> String? {
        guard let env = paths.first(where: { $0.text.lowercased().hasPrefix("env:") }) else { return nil }
        let variable = String(env.text.dropFirst(4)).trimmingCharacters(in: ["\\", "/"])
        return variable.isEmpty || variable.contains("*") || env.dynamic ? "printenv" : "printenv " + ShellAnalyzer.quote(variable)
    }

    // MARK: - Knowledge

    /// PowerShell's default aliases for the cmdlets read here (Windows and elsewhere).
    static let aliases: [String: String] = [
        "ac": "add-content", "cat": "get-content", "gc": "get-content", "type": "get-content", "sc": "set-content", "clc": "clear-content",
        "copy": "copy-item", "cp": "copy-item", "cpi": "copy-item", "move": "move-item", "mv": "move-item", "mi": "move-item", "ren": "rename-item",
        "rni": "rename-item", "del": "remove-item", "erase": "remove-item", "rd": "remove-item", "ri": "remove-item", "rm": "remove-item",
        "rmdir": "remove-item", "dir": "get-childitem", "gci": "get-childitem", "ls": "get-childitem", "gi": "get-item", "gp": "get-itemproperty",
        "gpv": "get-itempropertyvalue", "ni": "new-item", "si": "set-item", "sp": "set-itemproperty", "rp": "remove-itemproperty",
        "cli": "clear-item", "clp": "clear-itemproperty", "echo": "write-output", "write": "write-output", "sls": "select-string",
        "kill": "stop-process", "spps": "stop-process", "gps": "get-process", "ps": "get-process", "gsv": "get-service", "sasv": "start-service",
        "spsv": "stop-service", "curl": "invoke-webrequest", "wget": "invoke-webrequest", "iwr": "invoke-webrequest", "irm": "invoke-restmethod",
        "iex": "invoke-expression", "icm": "invoke-command", "ii": "invoke-item", "saps": "start-process", "start": "start-process",
        "sajb": "start-job", "ipmo": "import-module", "ipcsv": "import-csv", "epcsv": "export-csv", "tee": "tee-object", "sal": "set-alias",
        "nal": "new-alias", "etsn": "enter-pssession", "nsn": "new-pssession", "select": "select-object", "where": "where-object", "?": "where-object",
        "foreach": "foreach-object", "%": "foreach-object", "sort": "sort-object", "group": "group-object", "measure": "measure-object",
        "compare": "compare-object", "diff": "compare-object", "ft": "format-table", "fl": "format-list", "fw": "format-wide", "fc": "format-custom",
        "fhx": "format-hex", "oh": "out-host", "gcm": "get-command", "gm": "get-member", "gal": "get-alias", "gv": "get-variable", "gjb": "get-job",
        "rcjb": "receive-job", "wjb": "wait-job", "gl": "get-location", "pwd": "get-location", "cd": "set-location", "chdir": "set-location",
        "sl": "set-location", "pushd": "push-location", "popd": "pop-location", "sleep": "start-sleep", "cls": "clear-host", "clear": "clear-host",
        "h": "get-history", "history": "get-history", "ghy": "get-history", "gwmi": "get-wmiobject", "gcim": "get-ciminstance", "rvpa": "resolve-path",
        "gu": "get-unique", "sv": "set-variable", "set": "set-variable", "nv": "new-variable", "rv": "remove-variable", "clv": "clear-variable",
        "rwmi": "remove-wmiobject", "rcim": "remove-ciminstance", "iwmi": "invoke-wmimethod", "icim": "invoke-cimmethod", "r": "invoke-history",
        "ihy": "invoke-history", "md": "new-item", "mkdir": "new-item", "man": "get-help", "help": "get-help",
    ]

    /// Names that are programs outside Windows and aliases on it (or on older PowerShell).
    static let unixNames: Set<String> = ["rm", "rmdir", "cp", "mv", "ls", "cat", "ps", "kill", "sort", "tee", "diff", "sleep", "curl", "wget", "echo", "man", "mkdir", "pwd"]

    /// Approved verbs whose cmdlets only read or display.
    static let readVerbs: Set<String> = [
        "get", "test", "select", "measure", "where", "sort", "group", "compare", "convertto", "convertfrom", "find", "search", "resolve", "split", "join",
        "show", "trace", "read", "wait", "receive", "debug", "ping", "foreach", "confirm", "watch", "assert", "use",
    ]
    /// Cmdlets of other verbs that only read, display or change the session itself.
    static let readCmdlets: Set<String> = [
        "format-table", "format-list", "format-wide", "format-custom", "out-string", "out-host", "out-null", "out-default", "out-gridview", "write-output",
        "write-host", "write-verbose", "write-warning", "write-debug", "write-information", "write-error", "write-progress", "set-location",
        "push-location", "pop-location", "start-sleep", "clear-host", "set-variable", "new-variable", "remove-variable", "clear-variable", "set-strictmode",
        "import-powershelldatafile", "exit-pssession", "get-unique", "update-list",
    ]
    /// Cmdlets of reading verbs that write or run something all the same.
    static let writingReadVerbCmdlets: Set<String> = ["use-transaction", "debug-process", "debug-job", "debug-runspace", "wait-debugger"]
    /// Verbs that remove, empty or turn off.
    static let deleteVerbs: Set<String> = ["remove", "clear", "uninstall", "unregister", "revoke", "disable", "dismount", "reset", "stop", "suspend", "block", "deny", "limit"]
    /// Cmdlets that run the project's tests or linters: its own code runs (supervised).
    static let testRunners: Set<String> = ["invoke-pester", "invoke-scriptanalyzer"]
    /// Cmdlets of other verbs that wipe disks.
    static let wipingCmdlets: Set<String> = ["format-volume", "initialize-disk", "clear-disk", "format-disk"]
    /// Nouns whose removal wipes data.
    static let destructiveNouns: Set<String> = ["disk", "volume", "partition", "azresourcegroup", "resourcegroup", "azvm", "azsqldatabase", "azstorageaccount", "vm", "database", "recyclebin"]
    /// Verbs that hand over what the noun names: a noun of secrets makes them a secret read.
    static let secretVerbs: Set<String> = ["get", "show", "read", "convertfrom", "receive", "find", "search", "export"]
    /// Parameters of reading cmdlets that name files.
    static let pathParameters: Set<String> = ["path", "literalpath", "filepath"]
    /// .NET methods that only compute: a call to any other is unknown.
    static let readOnlyMethods: Set<String> = [
        "tostring", "gettype", "contains", "startswith", "endswith", "split", "replace", "trim", "trimstart", "trimend", "tolower", "toupper", "substring",
        "indexof", "lastindexof", "equals", "compareto", "format", "join", "padleft", "padright", "getenumerator", "count", "exists", "tolowerinvariant",
        "toupperinvariant", "getvalue", "containskey", "parse", "tryparse", "now", "utcnow", "combine", "getfilename", "getextension", "getdirectoryname",
        "getfullpath", "isnullorempty", "isnullorwhitespace", "where", "foreach",
    ]
    /// Words of secrets in a noun or a variable name.
    static let secretWords: Set<String> = [
        "secret", "secrets", "credential", "credentials", "password", "passwords", "passwd", "token", "tokens", "key", "keys", "apikey", "accesskey",
        "privatekey", "connectionstring", "sas", "pat", "passphrase",
    ]

    /// Secret words found inside longer names (`AzStorageContainerSASToken`).
    static let secretParts = ["secret", "password", "passwd", "credential", "token", "apikey", "accesskey", "privatekey", "connectionstring"]

    /// `AzKeyVaultSecret`, `AWS_SECRET_ACCESS_KEY`: any word a secret.
    static func isSecretName(_ name: String) -> Bool {
        let lower = name.lowercased()
        if secretParts.contains(where: { lower.contains($0) }) { return true }
        var words: [String] = []
        var current = ""
        for ch in name {
            if ch.isUppercase, !current.isEmpty, current.last?.isLowercase == true {
                words.append(current.lowercased())
                current = ""
            }
            if ch.isLetter {
                current.append(ch)
            } else if !current.isEmpty {
                words.append(current.lowercased())
                current = ""
            }
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words.contains(where: secretWords.contains) || secretWords.contains(name.lowercased())
    }

    private static func isNull(_ word: Word) -> Bool { word.text.lowercased() == "$null" }

    /// A word for the shell analysis: literal text quoted; text with variables left in
    /// double quotes, so that it counts as known only at run time.
    static func shellWord(_ word: Word) -> String {
        // PowerShell expands `*`, `?` and `[…]` in paths it was given unquoted.
        if !word.quoted, !word.dynamic, !word.text.isEmpty, word.text.utf8.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }),
            word.text.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || "-_./=:,+@%*?[]~".utf8.contains(b)
            })
        {
            return word.text
        }
        guard word.dynamic else { return ShellAnalyzer.quote(word.text) }
        var out = "\""
        for ch in word.text {
            if ch == "\"" || ch == "\\" || ch == "`" { out.append("\\") }
            out.append(ch)
        }
        if !word.text.contains("$") { out += "$PS" }
        return out + "\""
    }

    private static func nativeLine<C: Collection>(_ words: C) -> String where C.Element == Word {
        words.filter { !$0.isComma }.map(shellWord).joined(separator: " ")
    }

    /// A cmdlet or method name as shown in a message: agent-supplied text, kept short and plain.
    private static func escapedName(_ text: String) -> String {
        let plain = text.unicodeScalars.prefix(64).map { scalar -> String in
            scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F ? String(scalar) : "<U+\(String(scalar.value, radix: 16, uppercase: true))>"
        }
        return plain.joined()
    }
}

// MARK: - Words and parameters

extension PowerShellReader {
    struct Word {
        var text: String
        /// Some part was quoted: a value, not a command name or operator.
        var quoted = false
        /// Holds a variable or subexpression: known only at run time.
        var dynamic = false
        /// Directly followed by `(`: `$file.Delete(`, `[IO.File]::Delete(`.
        var isMethodCall = false

        /// The `,` between array elements (`-ArgumentList a, b`).
        var isComma: Bool { !quoted && text == "," }

        /// `$`, `@(`, `[type]`, a number, `-not`, `!`: an expression, not a command.
        var startsExpression: Bool {
            guard let first = text.utf8.first else { return true }
            if first == UInt8(ascii: "."), let second = text.utf8.dropFirst().first, (second | 0x20) >= 0x61, (second | 0x20) <= 0x7A {
                return true  // `.ToString()` after a parenthesis: a member, not `.\script.ps1`
            }
            return first == UInt8(ascii: "$") || first == UInt8(ascii: "@") || first == UInt8(ascii: "[") || first == UInt8(ascii: "-") || first == UInt8(ascii: "!")
                || first == UInt8(ascii: "+") || first == UInt8(ascii: ",") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
        }

        /// The method of `$x.Delete` or `[IO.File]::Delete`, when followed by `(`.
        var methodName: String? {
            guard let dot = text.lastIndex(where: { $0 == "." || $0 == ":" }) else { return nil }
            let name = text[text.index(after: dot)...]
            return name.isEmpty ? nil : String(name)
        }

        /// `$x=Remove-Item`, `@{ n=Get-Date }`: what follows an assignment written without
        /// spaces (`.some(nil)` for `e=` before a block); nil when the word assigns nothing.
        var assigned: Word?? {
            guard !quoted || text.hasPrefix("$"), let eq = text.firstIndex(of: "="), eq != text.startIndex,
                text[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" || $0 == ":" || $0 == "." })
            else { return nil }
            let rest = String(text[text.index(after: eq)...])
            return rest.isEmpty ? .some(nil) : Word(text: rest, dynamic: rest.contains("$"))
        }
    }

    /// A cmdlet's arguments: `-Name value`, `-Name:value`, switches and positionals. A
    /// parameter is matched by any prefix of its name, as PowerShell does; one not known to
    /// take a value is taken as a switch, so that no path is lost as its value.
    struct Parameters {
        var positionals: [Word] = []
        var values: [(name: String, value: Word)] = []
        var switches: [String] = []

        /// Parameters that take a value, by full lower-cased name.
        static let valued: [String] = [
            "path", "literalpath", "filepath", "destination", "newname", "include", "exclude", "filter", "credential", "stream", "encoding", "pattern", "value",
            "id", "name", "processname", "displayname", "uri", "method", "custommethod", "outfile", "infile", "body", "form", "headers", "contenttype", "proxy",
            "timeoutsec", "argumentlist", "args", "command", "computername", "session", "scriptblock", "totalcount", "tail", "head", "first", "last", "delimiter",
            "readcount", "itemtype", "workingdirectory", "verb", "depth", "inputobject", "delay", "useragent", "maximumredirection",
        ]

        init(_ words: [Word]) {
            var i = 0
            while i < words.count {
                let word = words[i]
                if word.isComma {
                    i += 1
                    continue
                }
                if !word.quoted, word.text.count > 1, word.text.hasPrefix("-"), let second = word.text.dropFirst().first, second.isLetter {
                    var name = String(word.text.dropFirst()).lowercased()
                    var attached: String?
                    if let colon = name.firstIndex(of: ":") {
                        attached = String(name[name.index(after: colon)...])
                        name = String(name[..<colon])
                    }
                    let full = Self.valued.first(where: { $0.hasPrefix(name) && ($0 == name || name.count >= 2) })
                    if let attached {
                        if let full { values.append((full, Word(text: attached, dynamic: attached.contains("$")))) } else { switches.append(name + ":" + attached) }
                    } else if let full, i + 1 < words.count {
                        // `-ArgumentList a, b`: a comma continues the value.
                        values.append((full, words[i + 1]))
                        i += 2
                        while i + 1 < words.count, words[i].isComma {
                            values.append((full, words[i + 1]))
                            i += 2
                        }
                        continue
                    } else {
                        switches.append(name)
                    }
                } else {
                    positionals.append(word)
                }
                i += 1
            }
        }

        func values(of names: Set<String>) -> [Word] { values.filter { names.contains($0.name) }.map(\.value) }
        func has(_ names: [String]) -> Bool { switches.contains { s in names.contains { $0.hasPrefix(s) && !s.isEmpty } } }

        /// `-WhatIf` or `-WhatIf:$true`, not `-WhatIf:$false`.
        var whatIf: Bool { switches.contains { $0 == "whatif" || $0 == "whatif:$true" || $0 == "wi" } }
    }

    struct Statement {
        var words: [Word] = []
        /// Files the statement's output is redirected to (`> file`, `>> file`).
        var redirects: [Word] = []
        /// Environment variables it names (`$env:GITHUB_TOKEN`).
        var environmentReads: [String] = []
    }

    /// Splits code into statements of words. Blocks, parentheses, pipes and `;` all end a
    /// statement; quotes, comments and escapes are honoured; `$(…)` inside a double-quoted
    /// string is handed back as code of its own.
    struct Lexer {
        let bytes: [UInt8]
        var i = 0
        var subexpressions: [String] = []
        var environmentReads: [String] = []
        var truncated = false
        static let maxWords = 65_536

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func statements() -> [Statement] {
            var out: [Statement] = []
            var current = Statement()
            var word = Word(text: "")
            var bytesOfWord: [UInt8] = []
            var inWord = false
            var redirectNext = false
            var wordCount = 0
            func endWord() {
                guard inWord else { return }
                word.text = String(decoding: bytesOfWord, as: UTF8.self)
                if redirectNext {
                    current.redirects.append(word)
                    redirectNext = false
                } else {
                    current.words.append(word)
                }
                wordCount += 1
                word = Word(text: "")
                bytesOfWord.removeAll(keepingCapacity: true)
                inWord = false
            }
            func endStatement() {
                endWord()
                current.environmentReads = environmentReads
                environmentReads.removeAll()
                if !current.words.isEmpty || !current.redirects.isEmpty { out.append(current) }
                current = Statement()
                redirectNext = false
            }
            while i < bytes.count {
                // Past the words or statements the reader reads, the rest is not lexed either.
                if wordCount > Self.maxWords || out.count > PowerShellReader.maxStatements {
                    truncated = true
                    break
                }
                let b = bytes[i]
                switch b {
                case 0x20, 0x09, 0x0D:
                    endWord()
                    i += 1
                case 0x0A, UInt8(ascii: ";"), UInt8(ascii: "|"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ")"):
                    endStatement()
                    i += 1
                case UInt8(ascii: ","):
                    endWord()
                    current.words.append(Word(text: ","))
                    i += 1
                case UInt8(ascii: "("):
                    if inWord { word.isMethodCall = true }
                    endStatement()
                    i += 1
                case UInt8(ascii: "&"):
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "&") {
                        endStatement()
                        i += 2
                    } else if inWord {
                        bytesOfWord.append(b)
                        i += 1
                    } else {
                        // The call operator, or a background job at the end.
                        bytesOfWord.append(b)
                        inWord = true
                        endWord()
                        i += 1
                    }
                case UInt8(ascii: ">"):
                    // `2>`, `*>`: the stream number is no word.
                    if inWord, !word.quoted, bytesOfWord.count == 1, bytesOfWord[0] == UInt8(ascii: "*") || (bytesOfWord[0] >= 0x30 && bytesOfWord[0] <= 0x39) {
                        bytesOfWord.removeAll()
                        inWord = false
                        word = Word(text: "")
                    }
                    endWord()
                    i += 1
                    if i < bytes.count, bytes[i] == UInt8(ascii: ">") { i += 1 }
                    if i < bytes.count, bytes[i] == UInt8(ascii: "&") {
                        i += 2  // `2>&1`
                    } else {
                        redirectNext = true
                    }
                case UInt8(ascii: "#") where !inWord:
                    while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                case UInt8(ascii: "<") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "#"):
                    endWord()
                    i += 2
                    while i + 1 < bytes.count, !(bytes[i] == UInt8(ascii: "#") && bytes[i + 1] == UInt8(ascii: ">")) { i += 1 }
                    i += 2
                case UInt8(ascii: "`"):
                    // An escape; before a line break, a line continuation.
                    if i + 1 < bytes.count, bytes[i + 1] != 0x0A, bytes[i + 1] != 0x0D {
                        bytesOfWord.append(bytes[i + 1])
                        inWord = true
                    }
                    i += 2
                case UInt8(ascii: "'"):
                    inWord = true
                    word.quoted = true
                    i += 1
                    while i < bytes.count {
                        if bytes[i] == UInt8(ascii: "'") {
                            if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "'") {
                                bytesOfWord.append(UInt8(ascii: "'"))
                                i += 2
                                continue
                            }
                            break
                        }
                        bytesOfWord.append(bytes[i])
                        i += 1
                    }
                    i += 1
                case UInt8(ascii: "\""):
                    inWord = true
                    word.quoted = true
                    i += 1
                    doubleQuoted(into: &bytesOfWord, word: &word)
                case UInt8(ascii: "@") where !inWord && i + 1 < bytes.count && (bytes[i + 1] | 0x20 >= 0x61 && bytes[i + 1] | 0x20 <= 0x7A):
                    // `@params`: splatting, arguments only known at run time.
                    inWord = true
                    word.dynamic = true
                    bytesOfWord.append(b)
                    i += 1
                case UInt8(ascii: "$"):
                    inWord = true
                    word.dynamic = true
                    noteVariable(at: i)
                    bytesOfWord.append(b)
                    i += 1
                default:
                    inWord = true
                    bytesOfWord.append(b)
                    i += 1
                }
            }
            endStatement()
            return out
        }

        /// The body of a `"…"` string from `i` (after the quote) to past its closing quote.
        private mutating func doubleQuoted(into text: inout [UInt8], word: inout Word) {
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        text.append(b)
                        i += 2
                        continue
                    }
                    i += 1
                    return
                }
                if b == UInt8(ascii: "`"), i + 1 < bytes.count {
                    text.append(bytes[i + 1])
                    i += 2
                    continue
                }
                if b == UInt8(ascii: "$") {
                    word.dynamic = true
                    noteVariable(at: i)
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "(") {
                        // `"$(Remove-Item …)"`: the subexpression runs.
                        var depth = 0
                        let start = i + 2
                        var j = i + 1
                        while j < bytes.count {
                            if bytes[j] == UInt8(ascii: "(") { depth += 1 }
                            if bytes[j] == UInt8(ascii: ")") {
                                depth -= 1
                                if depth == 0 { break }
                            }
                            j += 1
                        }
                        subexpressions.append(String(decoding: bytes[start..<min(j, bytes.count)], as: UTF8.self))
                        text.append(contentsOf: Array("$(…)".utf8))
                        i = j + 1
                        continue
                    }
                }
                text.append(b)
                i += 1
            }
        }

        /// `$env:NAME` and `${env:NAME}` at `start`: the variable is read.
        private mutating func noteVariable(at start: Int) {
            var j = start + 1
            if j < bytes.count, bytes[j] == UInt8(ascii: "{") { j += 1 }
            let prefix = Array("env:".utf8)
            guard j + prefix.count <= bytes.count, zip(bytes[j..<(j + prefix.count)], prefix).allSatisfy({ ($0 | 0x20) == $1 }) else { return }
            j += prefix.count
            let nameStart = j
            while j < bytes.count, bytes[j] == UInt8(ascii: "_") || (bytes[j] | 0x20 >= 0x61 && bytes[j] | 0x20 <= 0x7A) || (bytes[j] >= 0x30 && bytes[j] <= 0x39) { j += 1 }
            if j > nameStart { environmentReads.append(String(decoding: bytes[nameStart..<j], as: UTF8.self)) }
        }
    }
}
