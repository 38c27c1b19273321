/// File names as Linux has them — any bytes but `/` and NUL — carried in
/// Swift strings without loss.
///
/// Bytes that are not valid UTF-8 are kept as code points U+F780–U+F7FF
/// (byte 0x80–0xFF + U+F700, in the Private Use Area), the way Python's
/// `surrogateescape` keeps them; a name that really contains one of those
/// code points has its bytes escaped the same way, so decoding and
/// encoding are exact inverses for every name. Such a file is listed,
/// exported, watched, read and deleted like any other; `display` shows the
/// escaped bytes as `\xNN`.
public enum FileName {
    /// The string for a name's bytes.
    public static func decode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let bytes = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let (scalar, length) = decodeOne(bytes, at: index)
            if let scalar, !(0xF780...0xF7FF).contains(scalar.value) {
                scalars.append(scalar)
            } else {
                // Not UTF-8 (one byte), or a code point of the escape range (each of its bytes).
                for byte in bytes[index..<(index + max(1, scalar == nil ? 1 : length))] {
                    scalars.append(Unicode.Scalar(0xF700 + UInt32(byte))!)
                }
            }
            index += scalar == nil ? 1 : length
        }
        return String(scalars)
    }

    /// A name's bytes, from `decode`'s string (or any string).
    public static func encode(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            if (0xF780...0xF7FF).contains(scalar.value) {
                bytes.append(UInt8(scalar.value - 0xF700))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// `encode` as a NUL-terminated C string, for system calls.
    public static func system(_ name: String) -> [CChar] {
        encode(name).map { CChar(bitPattern: $0) } + [0]
    }

    /// For people: escaped bytes as `\xNN`, everything else as it is.
    public static func display(_ name: String) -> String {
        var text = ""
        for scalar in name.unicodeScalars {
            if (0xF780...0xF7FF).contains(scalar.value) {
                let byte = scalar.value - 0xF700
                text += "\\x" + String(byte, radix: 16, uppercase: true)
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text
    }

    /// One UTF-8 sequence at `index`: the scalar and its length, or nil
    /// when the bytes there are not a valid, shortest-form sequence.
    private static func decodeOne(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar?, Int) {
        let lead = bytes[index]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int, minimum: UInt32
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: (length, minimum, value) = (2, 0x80, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (length, minimum, value) = (3, 0x800, UInt32(lead & 0x0F))
        case 0xF0...0xF4: (length, minimum, value) = (4, 0x10000, UInt32(lead & 0x07))
        default: return (nil, 1)
        }
        guard index + length <= bytes.count else { return (nil, 1) }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return (nil, 1) }  // overlong, surrogate, > U+10FFFF
        return (scalar, length)
    }
}
