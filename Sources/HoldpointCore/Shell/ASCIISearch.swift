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
