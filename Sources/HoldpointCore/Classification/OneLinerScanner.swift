/// Reads `python -c`, `node -e`, `perl -e` and `ruby -e` one-liners for the commands they
/// shell out to and the files they delete.
///
/// It is a scanner, not an interpreter: it finds calls such as `os.system("…")`,
/// `subprocess.run(["rm", "-rf", "/"])` or `execSync('…')` and extracts their literal
/// arguments. A shell-out whose command is computed, or `eval`/`exec` of code, is
/// reported as unknown, so the worst case is assumed.
enum OneLinerScanner {
    struct Result {
        var shellCommands: [String] = []
        var findings: [Finding] = []
        /// The code names the environment (`os.environ`, `process.env`, `ENV[…]`, `getenv(`):
        /// `environmentReads` says what it reads.
        var mentionsEnvironment = false
    }

    /// Calls whose first argument is a shell command line (or an argv list).
    private static let shellOutCalls = [
        "os.system(", "os.popen(", "subprocess.run(", "subprocess.call(", "subprocess.check_call(", "subprocess.check_output(",
        "subprocess.Popen(", "subprocess.getoutput(", "subprocess.getstatusoutput(", "commands.getoutput(", "pty.spawn(",
        "os.execvp(", "os.execv(", "os.execlp(", "os.spawnlp(",
        "execSync(", "execFileSync(", "spawnSync(", "spawn(", "execFile(", "exec(", "system(", "%x(", "IO.popen(", "Open3.capture2(", "Open3.popen3(", "shell_exec(", "passthru(", "proc_open(",
        // Perl and Ruby call without parentheses: `system "rm -rf /"`, `exec 'cmd'`.
        "system ", "exec ", "qx{", "qx(", "qx/",
        // AppleScript and its JavaScript form (osascript).
        "do shell script ", "doShellScript(",
        // Lua, R.
        "os.execute(", "io.popen(", "system2(",
    ]

    private static let deleteCalls = [
        "shutil.rmtree(", "rmtree(", "os.remove(", "os.unlink(", "os.rmdir(", "os.removedirs(", ".unlink(", "rmSync(", "rmdirSync(", "unlinkSync(", "fs.rm(", "fs.rmdir(", "FileUtils.rm",
        "File.delete(", "unlink ", "unlink(", "rmdir(", "remove_tree(", "promises.rm(",
        // A delete function named as a string and called through another (`array_map("unlink", …)`).
        "\"unlink\"", "'unlink'", "\"rmdir\"", "'rmdir'",
    ]
    // Recursive deletes: Python's shutil, Node's fs, Ruby's FileUtils, Perl's File::Path
    // (which Perl calls without parentheses too: `rmtree "/srv"`).
    private static let destructiveDeleteCalls = [
        "shutil.rmtree(", "rmtree(", "rmSync(", "FileUtils.rm_rf", "FileUtils.rm_r", "os.removedirs(", "remove_tree(", "promises.rm(", "rmtree ", "remove_tree ",
    ]
    /// Calls that empty a file where it stands.
    private static let truncateCalls = ["truncate(", "truncateSync(", "truncate "]
    /// Calls that send a signal to a process (`os.kill(1, 9)`, `process.kill(pid)`, Perl's `kill 9, $pid`).
    private static let killCalls = ["kill(", "kill ", "killpg(", "pthread_kill("]
    /// Calls that move, link, copy or change the mode or owner of files: writes to the paths named.
    private static let changeCalls = [
        "rename(", "renameSync(", "os.replace(", "shutil.move(", "shutil.copy", "copyFile", "cpSync(", "FileUtils.mv", "FileUtils.cp", "FileUtils.ln", "FileUtils.chmod",
        "FileUtils.chown", "FileUtils.touch", "chmod(", "chmodSync(", "chown(", "chownSync(", "lchown(", "symlink(", "symlinkSync(", "symlink_to(", "os.link(", "linkSync(",
        "File::Copy", "rename ", "chmod ", "chown ", "symlink ", "utime(", "utimes(", "utimesSync(", ".touch(",
    ]
    private static let writeCalls = [
        ".write(", ".write_text(", ".write_bytes(", "writeFileSync(", "writeFile(", "appendFileSync(", "File.write(", "open(", "requests.post(", "requests.put(", "requests.patch(", "requests.delete(",
        "urlopen(", "fetch(", "inplace=True", "inplace=1", "file_put_contents(", "fwrite(", "io.open(",
    ]
    private static let opaqueCalls = [
        "eval(", "__import__(", "compile(", "Function(", "require('vm')", "importlib", "base64", "b64decode", "codecs.decode", "fromCharCode", "atob(",
        // Shell-capable modules under another name: the calls cannot be followed.
        "import subprocess as", "from subprocess import", "import os as", "from os import", "import pty as", "from pty import",
        "getattr(os", "getattr(subprocess", "= os.system", "= subprocess.",
        "use IPC::", "IPC::Open", "Process.spawn", "syscall",
        // A shell-out function named as a string (`array_map("system", …)`): the calls cannot be followed.
        "call_user_func", "\"system\"", "'system'", "\"exec\"", "'exec'", "\"passthru\"", "'passthru'", "\"shell_exec\"", "'shell_exec'", "\"popen\"",
        "'popen'", "\"proc_open\"", "'proc_open'",
        // Calls into C libraries, which can do anything.
        "ctypes", "cffi", "ffi-napi", "Fiddle", "DynaLoader", "FFI::",
    ]

    private static let writeModes = ["'w'", "\"w\"", "'a'", "\"a\"", "'wb'", "\"wb\"", "'ab'", "\"ab\"", "'w+'", "\"w+\"", "'r+'", "\"r+\"", "'x'", "\"x\""]

    /// Texts the scanner looks for besides calls.
    private static let markers = ["`", "child_process", "environ", "getenv(", "process.env", "ENV"]

    /// Every text the scanner asks about, found in one pass over the code, in groups asked
    /// by position. (It made a byte array of each of some ninety needles and searched the
    /// code once per needle: most of a one-liner's classification.)
    private enum Group: Int {
        case shellOut, delete, destructiveDelete, write, opaque, writeMode, marker, truncate, kill, change
    }
    private static let needles = NeedleTable(groups: [
        shellOutCalls, deleteCalls, destructiveDeleteCalls, writeCalls, opaqueCalls, writeModes, markers, truncateCalls, killCalls, changeCalls,
    ])

    static func scan(_ code: String) -> Result {
        var result = Result()
        let bytes = Array(code.utf8)
        let found = needles.search(bytes)
        let has = { (group: Group, index: Int) -> Bool in found.contains(group: group.rawValue, index: index) }
        result.mentionsEnvironment = (2...5).contains { has(.marker, $0) }
        let first = { (group: Group) -> String? in found.first(in: group.rawValue) }
        // Backticks are a shell-out in Perl and Ruby.
        if has(.marker, 0) {
            for literal in backtickLiterals(bytes) { result.shellCommands.append(literal) }
        }
        for (index, call) in shellOutCalls.enumerated() where has(.shellOut, index) {
            let needle = Array(call.utf8)
            for start in occurrences(of: needle, in: bytes) {
                // `exec(` inside `execSync(` was already handled by the longer name.
                if call == "exec(" || call == "spawn(" || call == "system(" || call == "execFile(" || call == "system " || call == "exec " {
                    if start > 0, isIdentifierByte(bytes[start - 1]) { continue }
                    if call == "exec(", !has(.marker, 1) {
                        // Python's exec() runs Python, not a shell: opaque.
                        result.findings.append(.unknown("oneliner-opaque", "runs code built at run time (exec)", subject: code))
                        continue
                    }
                }
                let offset = start + needle.count
                switch firstArgument(bytes, from: offset) {
                case .string(let text): result.shellCommands.append(text)
                case .list(let words): result.shellCommands.append(words.map(ShellAnalyzer.quote).joined(separator: " "))
                case .computed: result.findings.append(.unknown("oneliner-computed-command", "shells out with a command computed at run time (\(call.dropLast()))", subject: code))
                }
            }
        }
        if has(.marker, 1), bindsChildProcess(bytes) {
            result.findings.append(.unknown("oneliner-opaque", "binds child_process to a name, whose calls cannot be followed", subject: code))
        }
        if let call = first(.opaque) {
            result.findings.append(.unknown("oneliner-opaque", "builds or decodes code at run time (\(call))", subject: code))
        }
        if let call = first(.destructiveDelete) {
            result.findings.append(
                Finding(
                    rule: "oneliner-recursive-delete", message: "deletes a directory tree (\(call.trimmingSuffix("(")))",
                    effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true), subject: code))
        } else if let call = first(.delete) {
            result.findings.append(Finding(rule: "oneliner-delete", message: "deletes files (\(call.trimmingSuffix("(")))", effect: RuleEffect(operationClass: .delete), subject: code))
        }
        // A call of these groups counts where its name starts a word: `kill ` is not in `skill `.
        let firstCall = { (group: Group, calls: [String]) -> String? in
            calls.indices.first { index in
                has(group, index) && occurrences(of: Array(calls[index].utf8), in: bytes).contains { $0 == 0 || !isIdentifierByte(bytes[$0 - 1]) }
            }.map { calls[$0] }
        }
        if let call = firstCall(.truncate, truncateCalls) {
            result.findings.append(
                Finding(
                    rule: "oneliner-truncate", message: "empties files (\(call.trimmingSuffix("(").trimmingSuffix(" ")))",
                    effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true), subject: code))
        }
        if let call = firstCall(.kill, killCalls) {
            result.findings.append(
                Finding(rule: "oneliner-kill", message: "signals processes (\(call.trimmingSuffix("(").trimmingSuffix(" ")))", effect: RuleEffect(operationClass: .delete), subject: code))
        }
        if let call = firstCall(.change, changeCalls) {
            result.findings.append(
                Finding(
                    rule: "oneliner-file-change", message: "moves, links, copies or changes files (\(call.trimmingSuffix("(").trimmingSuffix(" ")))", effect: RuleEffect(operationClass: .patch),
                    subject: code))
        }
        // `open(` counts only with a write mode; another write call found with it still counts.
        let writes = first(.writeMode) != nil
        if let call = writeCalls.indices.first(where: { has(.write, $0) && (writes || writeCalls[$0] != "open(") }).map({ writeCalls[$0] }) {
            result.findings.append(Finding(rule: "oneliner-write", message: "writes files or sends data (\(call.trimmingSuffix("(")))", effect: RuleEffect(operationClass: .patch), subject: code))
        }
        if let verb = appleScriptAction(bytes) {
            result.findings.append(.unknown("oneliner-applescript", "tells another application to \(verb)", subject: code))
        }
        if result.findings.isEmpty && result.shellCommands.isEmpty {
            result.findings.append(Finding(rule: "oneliner-read", message: "one-liner with no shell-out, delete or write", effect: RuleEffect(operationClass: .read), subject: code))
        }
        return result
    }

    /// The environment variables the code reads, by name, and whether it takes the whole
    /// environment: Python's `os.environ[…]`, `os.environ.get(…)`, `os.getenv(…)`; Node's
    /// `process.env.NAME`, `process.env[…]`; Ruby's `ENV[…]`, `ENV.fetch(…)`; Perl's
    /// `$ENV{…}`; PHP's `getenv(…)`. Anything else done with the environment object
    /// (`print(os.environ)`, `%ENV`, `ENV.to_h`) takes all of it; so does a name computed
    /// at run time.
    struct EnvironmentReads {
        var names: [String] = []
        var whole = false
    }

    /// Past this many names, the code is taken to read the whole environment (and is not
    /// read further: bounded time).
    static let maximumEnvironmentNames = 64

    static func environmentReads(_ code: String) -> EnvironmentReads {
        var reads = EnvironmentReads()
        let bytes = Array(code.utf8)
        func nameAfter(_ start: Int) {
            switch firstArgument(bytes, from: start) {
            case .string(let name): reads.names.append(name)
            case .list, .computed: reads.whole = true
            }
        }
        func at(_ i: Int, _ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard i + count <= bytes.count else { return false }
            return text.withUTF8Buffer { t in (0..<count).allSatisfy { bytes[i + $0] == t[$0] } }
        }
        func startsWord(_ i: Int) -> Bool { i == 0 || !isIdentifierByte(bytes[i - 1]) }
        for start in occurrences(of: Array("environ".utf8), in: bytes) where reads.names.count <= maximumEnvironmentNames && (startsWord(start) || at(max(start - 3, 0), "os.")) {
            let after = start + (at(start + 7, "b") ? 8 : 7)  // `os.environb`: the same, as bytes
            if at(after, "[") { nameAfter(after + 1) } else if at(after, ".get(") { nameAfter(after + 5) } else { reads.whole = true }
        }
        for start in occurrences(of: Array("getenv(".utf8), in: bytes) where reads.names.count <= maximumEnvironmentNames && startsWord(start) {
            if at(start + 7, ")") { reads.whole = true } else { nameAfter(start + 7) }
        }
        for start in occurrences(of: Array("process.env".utf8), in: bytes) where reads.names.count <= maximumEnvironmentNames && startsWord(start) {
            let after = start + 11
            if at(after, ".") {
                var end = after + 1
                while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
                reads.names.append(String(decoding: bytes[(after + 1)..<end], as: UTF8.self))
            } else if at(after, "[") {
                nameAfter(after + 1)
            } else {
                reads.whole = true
            }
        }
        for start in occurrences(of: Array("ENV".utf8), in: bytes)
        where reads.names.count <= maximumEnvironmentNames && (start + 3 >= bytes.count || !isIdentifierByte(bytes[start + 3])) {
            if start > 0, bytes[start - 1] == UInt8(ascii: "$"), at(start + 3, "{") {
                // Perl's `$ENV{NAME}` or `$ENV{'NAME'}`.
                var i = start + 4
                if case .string(let name) = firstArgument(bytes, from: i) {
                    reads.names.append(name)
                    continue
                }
                let nameStart = i
                while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
                if i > nameStart, at(i, "}") { reads.names.append(String(decoding: bytes[nameStart..<i], as: UTF8.self)) } else { reads.whole = true }
            } else if !startsWord(start), bytes[start - 1] != UInt8(ascii: "%") {
                continue  // `NODE_ENV`, `RAILS_ENV`
            } else if at(start + 3, "[") {
                nameAfter(start + 4)
            } else if at(start + 3, ".fetch(") {
                nameAfter(start + 10)
            } else {
                reads.whole = true
            }
        }
        if reads.names.count > maximumEnvironmentNames {
            reads.whole = true
            reads.names.removeAll()
        }
        return reads
    }

    /// AppleScript's commands to other applications that change something (`tell application
    /// "System Events" to shut down`, `tell app "Finder" to delete …`, keystrokes typed into
    /// another program). What an application does when told cannot be read here.
    static let appleScriptActions = [
        "shut down", "restart", "log out", "sleep", "delete", "empty", "keystroke", "key code", "quit", "move", "duplicate", "make new", "set ", "do script", "run script",
        "open ", "eject", "erase", "click", "perform", "launch",
    ]

    static func appleScriptAction(_ bytes: [UInt8]) -> String? {
        guard !occurrences(of: Array("tell app".utf8), in: bytes).isEmpty else { return nil }
        return appleScriptActions.first { !occurrences(of: Array($0.utf8), in: bytes).isEmpty }
    }

    /// `child_process` loaded other than to call it at once (`require("child_process").execSync(…)`,
    /// whose call the scanner reads): `const {execSync: x} = require("child_process")`,
    /// `import { exec as run } from "node:child_process"`.
    static func bindsChildProcess(_ bytes: [UInt8]) -> Bool {
        let name = Array("child_process".utf8)
        for start in occurrences(of: name, in: bytes) {
            var i = start + name.count
            // The closing quote and parenthesis, then a `.` for a direct call.
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") || bytes[i] == UInt8(ascii: "`") { i += 1 }
            if i < bytes.count, bytes[i] == UInt8(ascii: ")") { i += 1 }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") { continue }
            return true
        }
        return false
    }

    /// The string literals in `code` that could name a file (a `/` or a `.` in them), at most 64.
    static func fileLiterals(_ code: String) -> [String] {
        literals(code) { $0.contains(UInt8(ascii: "/")) || $0.contains(UInt8(ascii: ".")) }
    }

    private static func literals(_ code: String, where keep: (ArraySlice<UInt8>) -> Bool) -> [String] {
        let bytes = Array(code.utf8)
        var out: [String] = []
        var i = 0
        while i < bytes.count && out.count < 64 {
            let quote = bytes[i]
            guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
                i += 1
                continue
            }
            var j = i + 1
            while j < bytes.count && bytes[j] != quote {
                j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1
            }
            let end = min(j, bytes.count)
            let literal = bytes[(i + 1)..<end]
            if keep(literal) { out.append(String(decoding: literal, as: UTF8.self)) }
            i = end + 1
        }
        return out
    }

    private static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
    }

    /// Start offsets of `needle` in `haystack` (byte-wise, no Foundation).
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
        var found: [Int] = []
        var i = 0
        let first = needle[0]
        while i <= haystack.count - needle.count {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { found.append(i) }
            }
            i += 1
        }
        return found
    }

    enum Argument {
        case string(String)
        case list([String])
        case computed
    }

    /// The first argument after an opening parenthesis: a string literal, a list of string
    /// literals, or something computed.
    static func firstArgument(_ bytes: [UInt8], from start: Int) -> Argument {
        var i = start
        func skipSpace() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 } }
        skipSpace()
        guard i < bytes.count else { return .computed }
        if bytes[i] == UInt8(ascii: "[") {
            i += 1
            var words: [String] = []
            while true {
                skipSpace()
                guard i < bytes.count else { return .computed }
                if bytes[i] == UInt8(ascii: "]") { return .list(words) }
                guard let (text, next) = stringLiteral(bytes, at: i) else { return .computed }
                words.append(text)
                i = next
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1 }
            }
        }
        guard let (text, next) = stringLiteral(bytes, at: i) else { return .computed }
        // `spawn('rm', ['-rf', '/'])`: program then an argument list.
        var j = next
        while j < bytes.count, bytes[j] == 0x20 { j += 1 }
        if j < bytes.count, bytes[j] == UInt8(ascii: ",") {
            j += 1
            while j < bytes.count, bytes[j] == 0x20 { j += 1 }
            if j < bytes.count, bytes[j] == UInt8(ascii: "["), case .list(let rest) = firstArgument(bytes, from: j) {
                return .list([text] + rest)
            }
        }
        // A literal followed by `+` or `%` or `.format` is being assembled at run time.
        if j < bytes.count, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "%") || bytes[j] == UInt8(ascii: ".") { return .computed }
        return .string(text)
    }

    /// A quoted literal at `i` (Python/JS/Ruby/Perl style). f-strings and templates with
    /// interpolation count as computed.
    static func stringLiteral(_ bytes: [UInt8], at start: Int) -> (String, Int)? {
        var i = start
        if i < bytes.count, bytes[i] == UInt8(ascii: "r") || bytes[i] == UInt8(ascii: "b") { i += 1 }
        guard i < bytes.count else { return nil }
        let quote = bytes[i]
        guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "`") else { return nil }
        i += 1
        var out: [UInt8] = []
        while i < bytes.count, bytes[i] != quote {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let e = bytes[i + 1]
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                default: out.append(e)
                }
                i += 2
                continue
            }
            if quote == UInt8(ascii: "`"), bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") { return nil }
            if quote == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "#"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") { return nil }
            out.append(bytes[i])
            i += 1
        }
        guard i < bytes.count else { return nil }
        return (String(decoding: out, as: UTF8.self), i + 1)
    }

    private static func backtickLiterals(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "`") {
                let start = i + 1
                var j = start
                while j < bytes.count, bytes[j] != UInt8(ascii: "`") { j += 1 }
                if j < bytes.count {
                    out.append(String(decoding: bytes[start..<j], as: UTF8.self))
                    i = j + 1
                    continue
                }
            }
            i += 1
        }
        return out
    }
}

/// Fixed lists of byte strings, searched for all at once: each position of the text is
/// compared only with the needles that start with its byte.
struct NeedleTable: Sendable {
    private let groups: [[String]]
    /// Every needle of every group, one after another; `groupStarts[g]` is group g's first.
    private let needles: [[UInt8]]
    private let groupStarts: [Int]
    /// For each byte value, the needles that start with it.
    private let byFirstByte: [[Int]]

    init(groups: [[String]]) {
        self.groups = groups
        var needles: [[UInt8]] = []
        var groupStarts: [Int] = []
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for group in groups {
            groupStarts.append(needles.count)
            for text in group {
                if let first = text.utf8.first { byFirstByte[Int(first)].append(needles.count) }
                needles.append(Array(text.utf8))
            }
        }
        self.needles = needles
        self.groupStarts = groupStarts
        self.byFirstByte = byFirstByte
    }

    /// Which needles occur in a text.
    struct Found {
        fileprivate let table: NeedleTable
        fileprivate let present: [Bool]

        func contains(group: Int, index: Int) -> Bool { present[table.groupStarts[group] + index] }

        /// The group's first needle, in list order, that occurs.
        func first(in group: Int) -> String? {
            let start = table.groupStarts[group]
            return table.groups[group].indices.first { present[start + $0] }.map { table.groups[group][$0] }
        }
    }

    func search(_ text: [UInt8]) -> Found {
        var present = [Bool](repeating: false, count: needles.count)
        text.withUnsafeBufferPointer { text in
            for start in text.indices {
                for id in byFirstByte[Int(text[start])] where !present[id] {
                    let needle = needles[id]
                    if needle.count <= text.count - start, needle.indices.allSatisfy({ text[start + $0] == needle[$0] }) {
                        present[id] = true
                    }
                }
            }
        }
        return Found(table: self, present: present)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
