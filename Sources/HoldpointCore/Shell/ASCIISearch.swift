import Foundation

extension StringProtocol {
    /// Whether the text contains the ASCII character `ascii`, scanning UTF-8 bytes.
    /// `contains("/")` on a String picks Foundation's substring search, which goes through
    /// NSString and cost a fifth of all classification time.
    @inlinable public func containsASCII(_ ascii: Unicode.Scalar) -> Bool {
        let byte = UInt8(ascii: ascii)
        return utf8.withContiguousStorageIfAvailable { bytes in
            guard let start = bytes.baseAddress else { return false }
            return memchr(start, Int32(byte), bytes.count) != nil
        } ?? utf8.contains(byte)
    }
}

extension Substring {
    /// `hasSuffix` over the UTF-8 bytes, compared in one `memcmp`: Character comparison
    /// walks grapheme boundaries, and the generic reversed comparison cost hundreds of
    /// instructions a call (the credential check asks a dozen for every path-like word).
    public func endsWithBytes(of suffix: String) -> Bool { holdsBytes(of: suffix, atEnd: true) }

    /// `hasPrefix` over the UTF-8 bytes (see `endsWithBytes`).
    public func startsWithBytes(of prefix: String) -> Bool { holdsBytes(of: prefix, atEnd: false) }

    private func holdsBytes(of part: String, atEnd: Bool) -> Bool {
        utf8.withContiguousStorageIfAvailable { text in
            var part = part
            return part.withUTF8 { bytes in
                guard text.count >= bytes.count else { return false }
                guard let t = text.baseAddress, let b = bytes.baseAddress else { return true }
                return memcmp(atEnd ? t + (text.count - bytes.count) : t, b, bytes.count) == 0
            }
        } ?? (atEnd ? utf8.reversed().starts(with: part.utf8.reversed()) : utf8.starts(with: part.utf8))
    }

    /// `String.containsBytes(of:)` without copying the substring.
    public func containsBytes(of needle: String) -> Bool {
        utf8.withContiguousStorageIfAvailable { hay in
            var needle = needle
            return needle.withUTF8 { pin in UnsafeBufferPointer(rebasing: hay[...]).containsBytes(of: pin) }
        } ?? String(self).containsBytes(of: needle)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes contain `pin`: memchr to each candidate first byte, then memcmp
    /// (glibc's memmem is not visible to Swift without _GNU_SOURCE).
    func containsBytes(of pin: UnsafeBufferPointer<UInt8>) -> Bool {
        guard pin.count > 0 else { return true }
        return firstOccurrence(of: pin, from: 0) != nil
    }

    /// The offset of the first occurrence of `pin` (not empty) at or after `start`.
    func firstOccurrence(of pin: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let h = baseAddress, let p = pin.baseAddress, start >= 0, count - start >= pin.count else { return nil }
        var offset = start
        let last = count - pin.count
        while offset <= last {
            guard let found = memchr(h + offset, Int32(p.pointee), last - offset + 1) else { return nil }
            let at = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - h
            if memcmp(h + at, p, pin.count) == 0 { return at }
            offset = at + 1
        }
        return nil
    }
}

extension String {
    /// Whether the text contains `needle`, comparing UTF-8 bytes: Foundation's
    /// `contains(_:)` goes through NSString.
    public func containsBytes(of needle: String) -> Bool {
        var haystack = self
        var needle = needle
        return haystack.withUTF8 { hay in
            needle.withUTF8 { pin in hay.containsBytes(of: pin) }
        }
    }
}

extension UnsafeMutableBufferPointer<UInt8> {
    /// Copies `text`'s UTF-8 bytes in at `offset` and moves `offset` past them. For building
    /// a string of known length in one allocation (`String(unsafeUninitializedCapacity:)`).
    func copyUTF8(of text: String, at offset: inout Int) {
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 in
            _ = UnsafeMutableBufferPointer(rebasing: self[offset...]).initialize(from: utf8)
            return utf8.count
        }
        if let copied {
            offset += copied
        } else {
            for byte in text.utf8 {
                self[offset] = byte
                offset += 1
            }
        }
    }
}
