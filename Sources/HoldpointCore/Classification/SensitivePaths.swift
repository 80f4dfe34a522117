/// Files that matter whatever program touches them: credentials an agent should not read
/// (cloud keys, SSH keys, kube configs, `.env`, `/etc/shadow`), and places that make code
/// run later or change who may log in (shell start-up files, `authorized_keys`, sudoers,
/// cron, systemd units, the loader's preload list).
///
/// Paths are matched on the text the command gives (`~/.aws/credentials`,
/// `$HOME/.ssh/id_rsa`, `/root/.kube/config`, `.env`), so a file is recognised without
/// being opened.
enum SensitivePaths {
    /// Reading one of these is reading a secret. Each is a path ending (matched after a
    /// `/`) or a whole file name.
    static let credentialEndings = ["/.aws/credentials", "/.kube/config", "/.docker/config.json", "/.netrc", "/.pgpass", "/.my.cnf",
                                    "/.git-credentials", "/.vault-token", "/.npmrc", "/.pypirc", "/.config/gh/hosts.yml",
                                    "/.config/gcloud/credentials.db", "/.config/gcloud/application_default_credentials.json",
                                    "/.azure/accesstokens.json", "/.azure/msal_token_cache.json", "/etc/shadow", "/etc/gshadow",
                                    "/etc/master.passwd", "/etc/kubernetes/admin.conf", "/serviceaccount/token"]
    static let credentialParts = ["/.ssh/id_", "/.gnupg/", "/run/secrets/", "/etc/ssh/ssh_host_", "/.password-store/", "/proc/self/environ"]
    static let credentialNames: Set<String> = [".env", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "credentials.json", "service-account.json", "terraform.tfvars"]
    static let credentialSuffixes = [".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx"]
    /// `.env.example` and friends hold no secrets.
    static let harmlessEnvSuffixes = [".example", ".sample", ".template", ".dist", ".defaults"]

    /// Writing one of these makes code run later (at login, on a schedule, at boot, in every
    /// process) or changes who may log in or become root.
    static let persistenceEndings = ["/.ssh/authorized_keys", "/.ssh/authorized_keys2", "/.ssh/rc", "/.bashrc", "/.bash_profile", "/.bash_login",
                                     "/.bash_logout", "/.profile", "/.zshrc", "/.zprofile", "/.zshenv", "/.zlogin", "/.config/fish/config.fish",
                                     "/etc/profile", "/etc/bash.bashrc", "/etc/environment", "/etc/rc.local", "/etc/ld.so.preload", "/etc/passwd",
                                     "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/crontab", "/etc/ssh/sshd_config", "/.gitconfig", "/.git/config"]
    static let persistenceParts = ["/etc/sudoers.d/", "/etc/profile.d/", "/etc/cron.", "/var/spool/cron/", "/etc/systemd/", "/.config/systemd/",
                                   "/etc/init.d/", "/etc/pam.d/", "/.config/autostart/", "/.git/hooks/", "/etc/update-motd.d/", "/lib/systemd/system/",
                                   "/usr/lib/systemd/", "/etc/xdg/autostart/", "/Library/LaunchAgents/", "/Library/LaunchDaemons/"]

    /// Programs that name a path without reading what is in it.
    static let metadataOnly: Set<String> = ["ls", "stat", "test", "[", "[[", "file", "realpath", "readlink", "du", "chmod", "chown", "chgrp",
                                            "dirname", "basename", "touch", "mkdir", "echo", "printf", "find", "fd", "locate", "which", "type"]
    /// Programs whose last path argument is where they write.
    static let copiers: Set<String> = ["cp", "mv", "install", "ln", "rsync", "scp", "dd"]

    /// `path` as matched: `~` and `$HOME` expanded to a marker directory, so endings like
    /// `/.aws/credentials` match them; relative paths get a leading `/`.
    static func comparable(_ raw: String) -> String {
        var path = raw
        if path.hasPrefix("@") { path.removeFirst() }  // curl -d @file
        if path.hasPrefix("~") { path = "/home/~" + path.dropFirst() }
        for home in ["$HOME", "${HOME}"] where path.hasPrefix(home) { path = "/home/~" + path.dropFirst(home.count) }
        if !path.hasPrefix("/") { path = "/" + path }
        return path
    }

    static func isCredential(_ raw: String) -> Bool {
        let path = comparable(raw)
        if credentialEndings.contains(where: { path.hasSuffix($0) }) || credentialParts.contains(where: { path.containsBytes(of: $0) }) { return true }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if credentialNames.contains(name) { return !name.hasSuffix(".pub") }
        if name.hasPrefix(".env."), !harmlessEnvSuffixes.contains(where: { name.hasSuffix($0) }) { return true }
        if name.hasPrefix("id_"), !name.hasSuffix(".pub"), path.containsBytes(of: "/.ssh/") { return true }
        return credentialSuffixes.contains(where: { name.hasSuffix($0) }) && !name.hasSuffix(".pub")
    }

    static func isPersistence(_ raw: String) -> Bool {
        let path = comparable(raw)
        return persistenceEndings.contains(where: { path.hasSuffix($0) }) || persistenceParts.contains(where: { path.containsBytes(of: $0) })
    }

    static func credentialRead(_ path: String) -> Finding {
        Finding(rule: "credential-read", message: "reads credentials (\(path))",
                effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated), subject: path)
    }

    static func persistenceWrite(_ path: String) -> Finding {
        Finding(rule: "persistence-write", message: "writes \(path), which runs code later or changes who may log in or become root",
                effect: RuleEffect(operationClass: .iam, tier: .gated), subject: path)
    }

    /// The findings for a command's arguments: credentials it reads, and start-up,
    /// schedule or login files it writes (`tee`, `cp`, `mv`, `dd of=`, `sed -i`, …).
    static func findings(program: String, args: [ShellWord]) -> [Finding] {
        var out: [Finding] = []
        let paths = args.map { word -> String in
            let text = word.text
            // `--file=PATH`, `of=PATH`, `-F file=@PATH`.
            if text.containsASCII("="), let eq = text.lastIndex(of: "=") {
                let value = text[text.index(after: eq)...]
                if value.containsASCII("/") || value.hasPrefix("@") || value.hasPrefix(".") { return String(value) }
            }
            return text
        }
        if !metadataOnly.contains(program) {
            for path in paths where isCredential(path) {
                out.append(credentialRead(path))
            }
        }
        let writes: [String]
        switch program {
        case "tee": writes = paths.filter { !$0.hasPrefix("-") }
        case "sed", "perl" where args.contains(where: { $0.text.hasPrefix("-i") || $0.text == "--in-place" }): writes = paths.filter { !$0.hasPrefix("-") }
        case _ where copiers.contains(program): writes = Array(paths.filter { !$0.hasPrefix("-") }.suffix(1)) + args.filter { $0.text.hasPrefix("of=") }.map { String($0.text.dropFirst(3)) }
        default: writes = []
        }
        for path in writes where isPersistence(path) {
            out.append(persistenceWrite(path))
        }
        return out
    }
}
