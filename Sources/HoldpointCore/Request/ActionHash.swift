import Crypto

/// The hash an approval is bound to.
///
/// `action_sha256` = lowercase hex SHA-256 of the UTF-8 bytes of the `action` object
/// in canonical JSON (RFC 8785 / JCS; see `JSONWriter.canonical`). It does not change
/// with key order or whitespace, and changes with any byte of the action itself.
public enum ActionHash {
    public static func sha256(of action: JSONValue) -> String {
        hex(SHA256.hash(data: Array(JSONWriter.canonical(action).utf8)))
    }

    public static func sha256(bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Lowercase hexadecimal, two digits a byte.
    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        hex(Array(digest))
    }

    /// The same for bytes in an array. Other modules call this one: the generic one, called
    /// from outside, looks `Array`'s conformances up at run time (a scan of every
    /// conformance in the binary, paid at start-up).
    public static func hex(_ digest: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hexDigit(byte >> 4))
            out.append(hexDigit(byte & 0x0F))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The lowercase hexadecimal digit for a value 0…15, as an ASCII byte.
    @inlinable public static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x61 - 10 + nibble
    }
}
