/// How much one command line may ask of the file system while it is classified.
///
/// Self-protection looks up the file each word names (a hard link or symlink to the queue is
/// the queue, whatever it is called), and the analyzer reads the scripts and project files a
/// line runs. Each costs a system call or a read, and a line of the 1 MiB limit can name tens
/// of thousands of files: 30,000 paths took a quarter of a second in `stat` alone. One budget
/// is shared by every level of a line's analysis (nested shells, scripts, `find -exec`); once
/// it is spent the file system is no longer consulted, the words are still compared as text,
/// and the line is `unknown` (gated in production, `shell-too-many-files`): held for a human,
/// never a hang.
///
/// A reference type on purpose: the analyzer is a value copied into nested analyses, and
/// they all draw on the one budget. It belongs to the one classification that made it.
final class FileSystemBudget {
    /// Files looked up (`stat`) per line: more than any command an agent runs by hand names.
    static let lookups = 1_024
    /// Scripts and project files read per line, and their bytes together.
    static let files = 32
    static let bytes = 1 << 20

    private var lookupsLeft = FileSystemBudget.lookups
    private var filesLeft = FileSystemBudget.files
    private var bytesLeft = FileSystemBudget.bytes
    /// What was not done for want of budget, said as the finding's message; nil while
    /// the budget lasts.
    private(set) var shortfall: String?

    init() {}

    /// Takes one lookup; false (and the budget is marked spent) when none is left.
    func takeLookup() -> Bool {
        guard lookupsLeft > 0 else {
            shortfall = shortfall ?? "names more than \(Self.lookups) files: past those, each was compared with Holdpoint's own files by name, not looked up"
            return false
        }
        lookupsLeft -= 1
        return true
    }

    /// Takes one file to read; how many bytes of it may be read (0: do not read it).
    func takeRead(upTo limit: Int) -> Int {
        guard filesLeft > 0, bytesLeft > 0 else {
            shortfall = shortfall ?? "runs more scripts or project files than are read for one line (\(Self.files), \(Self.bytes / 1024) KiB together): what the rest run was not analysed"
            return 0
        }
        filesLeft -= 1
        return min(limit, bytesLeft)
    }

    /// Records `count` bytes read.
    func spend(bytes count: Int) {
        bytesLeft -= count
    }
}
