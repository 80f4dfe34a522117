/// What a cell means, not what color it is: themes map roles to colors.
public enum StyleRole: String, Sendable, CaseIterable {
    case normal, muted, accent, header, footer, selection, danger, warning, success, production, badge, heading, input, dialog, key
}

/// One screen cell: a grapheme and its role. A wide character occupies its cell and marks
/// the next one as a continuation.
public struct Cell: Sendable, Equatable {
    public var text: String
    public var role: StyleRole
    public var bold: Bool
    public var isContinuation: Bool

    public static let blank = Cell(text: " ", role: .normal, bold: false, isContinuation: false)
}

/// An in-memory screen. The view draws here; the ncurses backend only paints it; tests read it.
public struct CellGrid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Fills a row span with one role (a bar, a selection).
    public mutating func fill(y: Int, x: Int = 0, width w: Int? = nil, role: StyleRole) {
        guard y >= 0, y < height else { return }
        let end = min(width, x + (w ?? width))
        for i in max(0, x)..<max(max(0, x), end) { self[i, y] = Cell(text: " ", role: role, bold: false, isContinuation: false) }
    }

    /// Writes already-sanitised text from `x`, clipped at `maxX`; returns the column after it.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: StyleRole, bold: Bool = false, maxX: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let limit = min(width, maxX ?? width)
        var column = x
        for character in text {
            let w = TextWidth.of(character)
            if w == 0 { continue }
            if column + w > limit { break }
            if column >= 0 {
                self[column, y] = Cell(text: String(character), role: role, bold: bold, isContinuation: false)
                if w == 2, column + 1 < width { self[column + 1, y] = Cell(text: "", role: role, bold: bold, isContinuation: true) }
            }
            column += w
        }
        return column
    }

    /// The screen as text, one line per row, trailing spaces trimmed (what tests compare).
    public var lines: [String] {
        (0..<height).map { y in
            var line = ""
            for x in 0..<width where !self[x, y].isContinuation { line += self[x, y].text }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    public var text: String { lines.joined(separator: "\n") }

    /// Rows that differ from `previous` (all rows when the size changed): what a backend repaints.
    public func changedRows(since previous: CellGrid?) -> [Int] {
        guard let previous, previous.width == width, previous.height == height else { return Array(0..<height) }
        return (0..<height).filter { y in
            let start = y * width
            return cells[start..<start + width] != previous.cells[start..<start + width]
        }
    }
}

/// Display width of text, per grapheme: East Asian wide characters take two cells,
/// combining marks none. Agent text is sanitised before it gets here.
public enum TextWidth {
    public static func of(_ character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        let v = scalar.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if v < 0x300 { return 1 }
        if (0x300...0x36F).contains(v) || (0x200B...0x200F).contains(v) { return 0 }
        if (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v) || (0x3400...0x4DBF).contains(v)
            || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v)
            || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x1F900...0x1F9FF).contains(v) || (0x20000...0x3FFFD).contains(v)
        {
            return 2
        }
        return 1
    }

    public static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    /// Cuts `text` to `width` cells, ending with … when it had to cut.
    public static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        if of(text) <= width { return text }
        var out = ""
        var used = 0
        for c in text {
            let w = of(c)
            if used + w > width - 1 { break }
            out.append(c)
            used += w
        }
        return out + "…"
    }

    /// Wraps `text` into lines of at most `width` cells, at spaces where possible; lines
    /// after the first of each paragraph get `continuation` cells (they are indented more).
    public static func wrap(_ text: String, width: Int, continuation: Int? = nil) -> [String] {
        guard width > 4 else { return [truncate(text, to: width)] }
        let later = max(4, continuation ?? width)
        var lines: [String] = []
        for whole in text.split(separator: "\n", omittingEmptySubsequences: false) {
            // A paragraph's leading spaces are its indent, kept on each of its lines.
            let indent = String(whole.prefix { $0 == " " }.prefix(max(0, width - 8)))
            let paragraph = whole.dropFirst(indent.count)
            let start = lines.count
            defer { for i in start..<lines.count { lines[i] = indent + lines[i] } }
            let width = width - indent.count
            let later = later - indent.count
            var line = ""
            var used = 0
            var limit = width
            func breakLine() {
                lines.append(line)
                line = ""
                used = 0
                limit = later
            }
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                let w = of(String(word))
                if used > 0 && used + 1 + w > limit { breakLine() }
                if w > limit {
                    // A word longer than the line: hard-break it, nothing is cut off.
                    if used > 0 {
                        line += " "
                        used += 1
                    }
                    for c in word {
                        let cw = of(c)
                        if used + cw > limit { breakLine() }
                        line.append(c)
                        used += cw
                    }
                    continue
                }
                if used > 0 {
                    line += " "
                    used += 1
                }
                line += word
                used += w
            }
            lines.append(line)
        }
        return lines
    }
}
