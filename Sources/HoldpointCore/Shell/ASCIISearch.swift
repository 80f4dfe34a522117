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
