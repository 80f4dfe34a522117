import Foundation

/// What the gate guards about itself, so an agent cannot approve its own action or loosen
/// its own policy: Holdpoint's files (the queue, the audit head, the signing key, the
/// policy, the agents' hook settings) and its reviewer and admin commands.
///
/// The classifier consults it for every command it finds, after unwrapping `sudo`,
/// `bash -c`, `env` and the rest, for every redirection, for every file an action writes,
/// and for text an agent writes into a file (a script it could run next). What it finds is
/// *blocked*, which also means audited: blocked actions are recorded like any other.
///
/// This is defence in depth. In file mode anyone who can write the queue file can forge a
/// decision; agents that must not be able to are run under another user (see docs/security.md).
public struct SelfProtection: Sendable {
    /// Files no agent may change: the queue (with its -wal and -shm), the audit head, the policy.
    public var protectedFiles: [String]
    /// Files no agent may even read: the audit signing key.
    public var secretFiles: [String]
    /// Directories whose contents are protected (Holdpoint's state directory).
    public var protectedDirectories: [String]
    /// The running `holdpoint` binary, to recognise it under another path or name.
    public var binaryPath: String?
    /// For `~` in paths.
    public var homeDirectory: String?
    /// For relative paths when the action does not say where it runs.
    public var workingDirectory: String?
    /// Whether to look at the file system: follow links (a symlink or hard link to the queue
    /// is the queue) and read scripts named on a command line to analyse what they run.
    public var inspectFiles: Bool

    /// No protection: classification as a pure function of the request (benchmarks, tests).
    public static let none = SelfProtection(
        protectedFiles: [], secretFiles: [], protectedDirectories: [], binaryPath: nil,
        homeDirectory: nil, workingDirectory: nil, inspectFiles: false)

    public init(
        protectedFiles: [String], secretFiles: [String], protectedDirectories: [String], binaryPath: String?,
        homeDirectory: String?, workingDirectory: String?, inspectFiles: Bool
    ) {
        self.homeDirectory = homeDirectory
        self.workingDirectory = workingDirectory
        self.inspectFiles = inspectFiles
        self.binaryPath = binaryPath
        self.protectedFiles = protectedFiles.map { PathText.normalize($0, relativeTo: workingDirectory, home: homeDirectory) }
        self.secretFiles = secretFiles.map { PathText.normalize($0, relativeTo: workingDirectory, home: homeDirectory) }
        self.protectedDirectories = protectedDirectories.map { PathText.normalize($0, relativeTo: workingDirectory, home: homeDirectory) }
        var identities: [FileIdentity] = []
        var secretIdentities: [FileIdentity] = []
        if inspectFiles {
            identities = self.protectedFiles.compactMap(FileIdentity.of)
            secretIdentities = self.secretFiles.compactMap(FileIdentity.of)
        }
        self.protectedIdentities = identities
        self.secretIdentities = secretIdentities
        self.binaryIdentity = inspectFiles ? binaryPath.flatMap(FileIdentity.of) : nil
    }

    private let protectedIdentities: [FileIdentity]
    private let secretIdentities: [FileIdentity]
    private let binaryIdentity: FileIdentity?

    public var isActive: Bool { !protectedFiles.isEmpty || !secretFiles.isEmpty || !protectedDirectories.isEmpty || binaryPath != nil }

    /// Reviewer and admin commands: for humans only.
    static let adminCommands: Set<String> = ["decide", "resume", "review", "halt"]

    /// The options that point Holdpoint at another policy, queue or audit log.
    static let configurationOptions = ["--policy", "--queue", "--audit"]

    /// Setting (or unsetting) one of Holdpoint's `HOLDPOINT_*` variables: the policy, queue,
    /// audit log, built-in rules, environment or identity its checks use. An agent doing
    /// that is choosing its own rules.
    static func configurationVariable(_ text: String, subject: String) -> Finding? {
        // Most words are turned away by their first letter, before any string is made.
        guard let lead = text.utf8.first, lead == UInt8(ascii: "H") || lead == UInt8(ascii: "X") || lead == UInt8(ascii: "C") || lead == UInt8(ascii: "G") else {
            return nil
        }
        let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
        if redirectingVariables.contains(name) {
            return Finding(
                rule: "config-location-override", message: "sets \(name), which moves where Holdpoint or an agent's client finds its configuration and hooks",
                effect: RuleEffect(operationClass: .unknown, tier: .gated), subject: subject)
        }
        guard text.hasPrefix("HOLDPOINT_") else { return nil }
        return blocked("holdpoint-config-override", "an agent may not set \(name): Holdpoint's configuration is not the agent's to choose", subject: subject)
    }

    /// Variables that move where configuration is found: Holdpoint's state (the queue, the
    /// audit log) under `XDG_STATE_HOME`, and the hook settings of the agents' clients.
    /// Held for a human rather than blocked: tools are run with them for reasons of their own.
    static let redirectingVariables: Set<String> = ["XDG_STATE_HOME", "XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"]

    /// The agents' own hook settings: writing them would switch the gate off.
    static let hookSettings: [Glob] = [
        Glob("*/.claude/settings.json|*/.claude/settings.local.json|/etc/claude-code/*"),
        Glob("*/.codex/hooks.json|*/.codex/config.toml|*/.gemini/settings.json|*/.cursor/hooks.json"),
        // The directories that hold them: moved or deleted, the settings go with them.
        Glob("*/.claude|*/.codex|*/.gemini|*/.cursor|/etc/claude-code"),
    ]

    /// Whether `path` is one of `hookSettings`. Each of those names a dot-directory or
    /// `/etc/claude-code`: a path with neither is turned away by a byte search before the
    /// globs, which cost thousands of instructions a path (every argument of every command).
    static func isHookSettings(_ path: String) -> Bool {
        (path.containsBytes(of: "/.") || path.containsBytes(of: "/etc/claude-code")) && hookSettings.anyMatches(path)
    }

    /// Programs that only read the files they are given.
    static let readers: Set<String> = [
        "cat", "less", "more", "head", "tail", "ls", "stat", "wc", "file", "grep", "egrep", "fgrep", "rg",
        "diff", "cmp", "sha256sum", "sha1sum", "md5sum", "du", "realpath", "readlink", "test", "[", "holdpoint",
    ]

    /// Programs that replace, move, remove or change files named as operands.
    static let fileChangers: Set<String> = SensitivePaths.writers.union(["rm", "unlink", "shred", "truncate", "chmod", "chown", "chattr", "setfacl", "rsync", "tar", "unzip"])

    static func blocked(_ rule: String, _ message: String, subject: String) -> Finding {
        Finding(rule: rule, message: message, effect: RuleEffect(operationClass: .unknown, tier: .blocked), subject: subject)
    }

    // MARK: - Commands

    /// Findings for one command (after unwrapping): a Holdpoint admin command, or a path
    /// argument that names a protected file. `budget` bounds the file-system lookups of the
    /// whole line (nil: unbounded, for a single path).
    func check(program: String, programWord: String, args: [ShellWord], cwd: String?, budget: FileSystemBudget?) -> [Finding] {
        var findings: [Finding] = []
        // Built only when there is something to report (most commands have no finding), and
        // then once: rebuilt per argument, 40,000 arguments took seconds.
        var built: String?
        func subject() -> String {
            if let built { return built }
            let text = ShellWord.joinedText([ShellWord(text: programWord)] + args)
            built = text
            return text
        }
        // Each word taken as a path once: written out in full and, when the file system is
        // consulted, looked up. What the lookup finds says both whether the word is Holdpoint's
        // binary under another name and whether it is one of Holdpoint's files.
        var paths: [ResolvedPath] = []
        if isActive {
            for word in args where !word.isDynamic {
                for candidate in Self.pathCandidates(word.text) { paths.append(resolve(candidate, cwd: cwd, budget: budget)) }
            }
        }
        let mentionsHoldpoint =
            isHoldpoint(programWord, cwd: cwd, budget: budget) || args.contains { !$0.isDynamic && Self.basenameIsHoldpoint($0.text) }
            || paths.contains { $0.identity != nil && $0.identity == binaryIdentity && $0.raw.containsASCII("/") }
        // Lengths first: comparing unequal strings is a call into the runtime each time.
        let mentionsDecide = programWord == "decide" || args.contains { $0.text.utf8.count == 6 && $0.text == "decide" }
        if mentionsHoldpoint || mentionsDecide {
            let words = [ShellWord(text: programWord)] + args
            if mentionsHoldpoint {
                findings += holdpointCommandFindings(words, cwd: cwd, budget: budget, subject: subject())
            }
            if mentionsDecide, findings.isEmpty, let decide = words.firstIndex(where: { $0.text == "decide" }),
                words[(decide + 1)...].prefix(3).contains(where: { Self.looksLikeRequestID($0.text) })
            {
                findings.append(Self.blocked("holdpoint-admin-command", "looks like a Holdpoint decision (`decide ID …`) made by an agent", subject: subject()))
            }
        }
        if Self.fileChangers.contains(program), let computed = args.first(where: { $0.isDynamic && $0.text.lowercased().contains("holdpoint") }) {
            // `cp /bin/true $(which holdpoint)`: the path is only known at run time, and it is
            // computed from Holdpoint's own name.
            findings.append(Self.blocked("holdpoint-replaced", "changes a file whose path is computed from Holdpoint's name (\(computed.text)): the gate itself", subject: subject()))
        }
        // `ln -sf /bin/true ~/.local/bin/holdpoint`, `chmod -x /usr/local/bin/holdpoint`: the
        // file changed is a program named holdpoint, and one earlier on PATH stands in for the
        // gate in every hook and script that calls it by name. (A directory of that name
        // elsewhere, a checkout of Holdpoint's sources, is not the gate.)
        if Self.fileChangers.contains(program), let target = args.last(where: { !$0.text.hasPrefix("-") }), !target.isDynamic,
            ShellAnalyzer.basename(target.text) == "holdpoint", target.text.contains("bin/")
        {
            findings.append(Self.blocked("holdpoint-replaced", "changes a program named holdpoint (\(target.text)): it would stand in for the gate", subject: subject()))
        }
        let reader = Self.readers.contains(program)
        for path in paths {
            if let finding = checkPath(path, writing: !reader, subject: subject()) { findings.append(finding) }
        }
        return findings
    }

    /// `holdpoint decide`, `/opt/bin/holdpoint resume`, `swift run holdpoint decide`, a
    /// renamed copy of the binary; or Holdpoint told to use another policy, queue or log.
    private func holdpointCommandFindings(_ words: [ShellWord], cwd: String?, budget: FileSystemBudget?, subject: @autoclosure () -> String) -> [Finding] {
        var findings: [Finding] = []
        for (i, word) in words.enumerated() where !word.isDynamic && isHoldpoint(word.text, cwd: cwd, budget: budget) {
            if let sub = Self.subcommand(after: i, in: words), Self.adminCommands.contains(sub) {
                findings.append(Self.blocked("holdpoint-admin-command", "an agent may not run `holdpoint \(sub)`: reviewer and admin commands are for humans", subject: subject()))
                break
            }
            // Its own options, up to `--` (after which `exec`'s command begins).
            let own = words[(i + 1)...].prefix { $0.text != "--" }
            if let option = own.first(where: { word in Self.configurationOptions.contains { word.text == $0 || word.text.hasPrefix($0 + "=") } }) {
                let name = option.text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option.text
                findings.append(
                    Self.blocked("holdpoint-config-override", "an agent may not give Holdpoint \(name): which policy, queue and audit log apply is not the agent's to choose", subject: subject()))
                break
            }
        }
        return findings
    }

    /// The first word after `holdpoint` that is not a global option or its value.
    static func subcommand(after index: Int, in words: [ShellWord]) -> String? {
        var j = index + 1
        while j < words.count {
            let text = words[j].text
            if ["--queue", "--audit", "--policy"].contains(text) {
                j += 2
                continue
            }
            if text.hasPrefix("-") {
                j += 1
                continue
            }
            return text
        }
        return nil
    }

    static func looksLikeRequestID(_ text: String) -> Bool {
        text.utf8.count == 26 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) }
    }

    func isHoldpoint(_ word: String, cwd: String?, budget: FileSystemBudget?) -> Bool {
        if Self.basenameIsHoldpoint(word) { return true }
        guard let binaryIdentity, word.containsASCII("/"), budget?.takeLookup() ?? true else { return false }
        return FileIdentity.of(PathText.normalize(word, relativeTo: cwd ?? workingDirectory, home: homeDirectory)) == binaryIdentity
    }

    /// `holdpoint` or `…/holdpoint`, compared as bytes: this runs for every word of every
    /// command, and cutting out the base name made a string each time.
    static func basenameIsHoldpoint(_ word: String) -> Bool {
        let name = "holdpoint"
        let bytes = word.utf8
        guard bytes.count >= name.utf8.count, bytes.last == UInt8(ascii: "t"), Substring(word).endsWithBytes(of: name) else { return false }
        // `ShellAnalyzer.basename` keeps a path that ends in `/` whole, so `…/holdpoint/` is not it.
        let nameStart = bytes.index(bytes.endIndex, offsetBy: -name.utf8.count)
        return nameStart == bytes.startIndex || bytes[bytes.index(before: nameStart)] == UInt8(ascii: "/")
    }

    /// `--queue=/x`, `of=/x`, `-o/x` carry paths after a prefix.
    static func pathCandidates(_ word: String) -> [String] {
        // Most words have no `=`: found with one `memchr`, and the search for where it is
        // (over the bytes; a Character search walked grapheme boundaries) only when there is one.
        guard word.containsASCII("="), let eq = word.utf8.firstIndex(of: UInt8(ascii: "=")) else { return [word] }
        let value = word[word.utf8.index(after: eq)...]
        return value.containsASCII("/") || value.utf8.first == UInt8(ascii: "~") ? [word, String(value)] : [word]
    }

    // MARK: - Paths

    /// A word taken as a path: written out in full (`~`, the working directory, `.` and `..`),
    /// and the file it names when the file system is consulted (a link to a protected file is
    /// that file, whatever it is called).
    struct ResolvedPath {
        var raw: String
        var path: String
        /// A pattern (`*`, `?`): compared as one, never looked up.
        var wildcard: Bool
        var identity: FileIdentity?
    }

    func resolve(_ raw: String, cwd: String?, budget: FileSystemBudget?) -> ResolvedPath {
        let path = PathText.normalize(raw, relativeTo: cwd ?? workingDirectory, home: homeDirectory)
        let wildcard = raw.containsASCII("*") || raw.containsASCII("?")
        // Only when there is a file to compare with (none exists before the first request),
        // and within the line's budget.
        let compares = binaryIdentity != nil || !protectedIdentities.isEmpty || !secretIdentities.isEmpty
        let identity = inspectFiles && !wildcard && compares && (budget?.takeLookup() ?? true) ? FileIdentity.of(path) : nil
        return ResolvedPath(raw: raw, path: path, wildcard: wildcard, identity: identity)
    }

    /// A finding when `raw` names a protected file: writing one, or touching the key at all.
    func checkPath(_ raw: String, writing: Bool, cwd: String?, budget: FileSystemBudget?, subject: @autoclosure () -> String) -> Finding? {
        checkPath(resolve(raw, cwd: cwd, budget: budget), writing: writing, subject: subject())
    }

    func checkPath(_ resolved: ResolvedPath, writing: Bool, subject: @autoclosure () -> String) -> Finding? {
        let raw = resolved.raw
        let path = resolved.path
        // A pattern (`rm ~/.local/state/holdpoint/*`) is compared as one, made once per path.
        let pattern = resolved.wildcard ? Glob(path) : nil
        func hits(_ list: [String]) -> String? {
            if let exact = list.first(where: { $0 == path }) { return exact }
            if let pattern, let matched = list.first(where: { pattern.matches($0) }) { return matched }
            return nil
        }
        let identity = resolved.identity
        if let secret = hits(secretFiles) ?? identity.flatMap({ id in secretIdentities.firstIndex(of: id).map { secretFiles[$0] } }) {
            return Self.blocked("holdpoint-signing-key", "an agent may not touch Holdpoint's audit signing key (\(secret))", subject: subject())
        }
        guard writing else { return nil }
        // `printf '#!/bin/sh\nexit 0' > ~/.local/bin/holdpoint`: as `cp` onto it (`check`).
        if ShellAnalyzer.basename(raw) == "holdpoint", raw.contains("bin/") {
            return Self.blocked("holdpoint-replaced", "writes a program named holdpoint (\(raw)): it would stand in for the gate", subject: subject())
        }
        if let file = hits(protectedFiles) ?? identity.flatMap({ id in protectedIdentities.firstIndex(of: id).map { protectedFiles[$0] } }) {
            return Self.blocked("holdpoint-protected-file", "an agent may not change Holdpoint's own files (\(file)): the queue, the audit log and the policy are for humans", subject: subject())
        }
        if let directory = protectedDirectories.first(where: { PathText.isInside(path, $0) || pattern?.matches($0 + "/x") == true }) {
            return Self.blocked("holdpoint-protected-file", "an agent may not change files in Holdpoint's state directory (\(directory))", subject: subject())
        }
        if Self.isHookSettings(path) {
            return Self.blocked("agent-hook-settings", "an agent may not change its own hook settings (\(path)): that would switch the gate off", subject: subject())
        }
        return nil
    }

    /// Findings for a file an action writes.
    public func checkWrite(_ path: String, cwd: String?) -> Finding? {
        checkPath(path, writing: true, cwd: cwd, budget: nil, subject: path)
    }

    /// Findings for text an agent writes into a file: a script that would run Holdpoint's
    /// admin commands or touch its files is blocked before it exists.
    public func checkText(_ text: String, subject: String) -> [Finding] {
        var findings: [Finding] = []
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == ";" || $0 == "&" || $0 == "|" })
        for line in lines where line.contains("holdpoint") || line.contains("decide") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" || $0 == "(" || $0 == ")" || $0 == "," || $0 == "[" || $0 == "]" })
                .map { ShellWord(text: String($0)) }
            for (i, word) in words.enumerated() where ShellAnalyzer.basename(word.text) == "holdpoint" {
                if let sub = Self.subcommand(after: i, in: words), Self.adminCommands.contains(sub) {
                    findings.append(Self.blocked("holdpoint-admin-command", "writes a script that runs `holdpoint \(sub)`: reviewer and admin commands are for humans", subject: subject))
                    return findings
                }
            }
        }
        for file in secretFiles + protectedFiles where text.contains(file) {
            findings.append(Self.blocked("holdpoint-protected-file", "writes a file that names Holdpoint's own file \(file)", subject: subject))
            return findings
        }
        return findings
    }

    /// A script named on a command line, when it may be read: its text (its first 256 KiB,
    /// or what is left of the line's budget), or nil.
    func scriptText(_ path: String, cwd: String?, budget: FileSystemBudget?) -> String? {
        guard inspectFiles else { return nil }
        let limit = budget?.takeRead(upTo: 256 * 1024) ?? 256 * 1024
        guard limit > 0 else { return nil }
        let full = PathText.normalize(path, relativeTo: cwd ?? workingDirectory, home: homeDirectory)
        // Regular files only, opened without blocking: a FIFO or a device named as a script
        // would otherwise hang the classifier (and, in the daemon, one of its threads).
        let fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var bytes = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
        }
        budget?.spend(bytes: count)
        return String(bytes: bytes[0..<count], encoding: .utf8)
    }
}

/// A file's device and inode: a link to a protected file is that file.
struct FileIdentity: Sendable, Equatable {
    let device: UInt64
    let inode: UInt64

    static func of(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// Lexical path handling: `~`, relative paths, `.` and `..`, repeated slashes.
public enum PathText {
    /// `path` written out in full: `~` and `~/…` under `home`, a relative path under `cwd`,
    /// `.` and empty components dropped, `..` taking the component before it away (never past
    /// the root), no trailing `/`. Purely lexical: links are not followed.
    public static func normalize(_ path: String, relativeTo cwd: String?, home: String?) -> String {
        var text = path
        let bytes = text.utf8
        if let home, bytes.first == UInt8(ascii: "~"), bytes.count == 1 || bytes.dropFirst().first == UInt8(ascii: "/") {
            text = home + text.dropFirst()
        }
        // Over the bytes: this runs for every argument of every command a hook sees (and for
        // every one of a line of 30,000 paths); split into `Substring`s and joined again, a
        // path cost thousands of instructions.
        guard text.utf8.first != UInt8(ascii: "/"), let cwd else { return text.withUTF8(clean) }
        var joined: [UInt8] = []
        joined.reserveCapacity(cwd.utf8.count + 1 + text.utf8.count)
        joined.append(contentsOf: cwd.utf8)
        joined.append(UInt8(ascii: "/"))
        joined.append(contentsOf: text.utf8)
        return joined.withUnsafeBufferPointer(clean)
    }

    /// The components of `bytes` with `.`, `..` and repeated slashes resolved.
    private static func clean(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        let absolute = bytes.first == slash
        var out: [UInt8] = absolute ? [slash] : []
        out.reserveCapacity(bytes.count)
        let root = out.count  // what `..` never takes away
        var start = 0
        while start < bytes.count {
            guard bytes[start] != slash else {
                start += 1
                continue
            }
            var end = start
            while end < bytes.count, bytes[end] != slash { end += 1 }
            let length = end - start
            if length == 1, bytes[start] == dot {
                // `.`: here.
            } else if length == 2, bytes[start] == dot, bytes[start + 1] == dot {
                // `..`: the last component goes, with the `/` before it.
                if out.count > root { out.removeSubrange((out[root...].lastIndex(of: slash) ?? root)...) }
            } else {
                if out.count > root { out.append(slash) }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
            }
            start = end
        }
        // Cut only at `/`, so the bytes are still the valid UTF-8 they came from.
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `path` is `directory` or inside it.
    public static func isInside(_ path: String, _ directory: String) -> Bool {
        // Compared as bytes, without making `directory + "/"` (this runs for every word).
        let p = path.utf8
        let d = directory.utf8
        guard directory != "/" else { return true }
        guard p.count >= d.count, Substring(path).startsWithBytes(of: directory) else { return false }
        if p.count == d.count || d.last == UInt8(ascii: "/") { return true }
        return p[p.index(p.startIndex, offsetBy: d.count)] == UInt8(ascii: "/")
    }
}
