/// Request ids: ULIDs (time-ordered, 26 characters of Crockford base32).
public enum RequestID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(now: Double) -> String {
        var generator = SystemRandomNumberGenerator()
        let millis = UInt64(max(0, now * 1000))
        var out = [UInt8](repeating: 0, count: 26)
        var time = millis
        for i in stride(from: 9, through: 0, by: -1) {
            out[i] = alphabet[Int(time & 31)]
            time >>= 5
        }
        // 80 random bits from two draws (one getrandom call each at most).
        var random = generator.next() as UInt64
        var more = generator.next() as UInt64
        for i in 10..<26 {
            out[i] = alphabet[Int(random & 31)]
            random >>= 5
            if i == 21 {
                random = more
                more = 0
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` has the shape of an id (so bad ids are refused before any lookup).
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 26 && text.utf8.allSatisfy { alphabet.contains($0) }
    }
}
