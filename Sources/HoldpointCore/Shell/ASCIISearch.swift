extension StringProtocol {
    /// Whether the text contains the ASCII character `ascii`, scanning UTF-8 bytes.
    /// `contains("/")` on a String picks Foundation's substring search, which goes through
    /// NSString and cost a fifth of all classification time.
    @inlinable public func containsASCII(_ ascii: Unicode.Scalar) -> Bool {
        utf8.contains(UInt8(ascii: ascii))
    }
}
