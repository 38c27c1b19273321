import Foundation
import Testing
@testable import Mesh

// MARK: - Helpers and test types

private func codecRoundTrip<T: Codable>(_ value: T, as type: T.Type = T.self) throws -> T {
    let bytes = try BinaryEncoder().encode(value)
    return try BinaryDecoder().decode(type, from: bytes)
}

private func expectCodecRoundTrip<T: Codable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(try codecRoundTrip(value) == value, sourceLocation: sourceLocation)
    // Also through the generic paths: inside an array (unkeyed) and a struct (keyed).
    #expect(try codecRoundTrip([value, value]) == [value, value], sourceLocation: sourceLocation)
    #expect(try codecRoundTrip(CodecBox(value: value)) == CodecBox(value: value), sourceLocation: sourceLocation)
}

/// Runs `body`, which must throw a `DecodingError`, and returns it.
private func codecDecodingError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> DecodingError? {
    do {
        try body()
        Issue.record("expected a DecodingError, but decoding succeeded", sourceLocation: sourceLocation)
    } catch let error as DecodingError {
        return error
    } catch {
        Issue.record("expected a DecodingError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

private func codecErrorSummary(_ error: DecodingError?) -> (kind: String, path: [String], message: String) {
    switch error {
    case .typeMismatch(_, let c)?: return ("typeMismatch", c.codingPath.map(\.stringValue), c.debugDescription)
    case .valueNotFound(_, let c)?: return ("valueNotFound", c.codingPath.map(\.stringValue), c.debugDescription)
    case .keyNotFound(let k, let c)?: return ("keyNotFound", c.codingPath.map(\.stringValue) + [k.stringValue], c.debugDescription)
    case .dataCorrupted(let c)?: return ("dataCorrupted", c.codingPath.map(\.stringValue), c.debugDescription)
    default: return ("none", [], "")
    }
}

private struct CodecBox<T: Codable & Equatable>: Codable, Equatable {
    var value: T
}

private struct CodecInner: Codable, Equatable {
    var id: Int
    var name: String
    var tags: [String]
}

private struct CodecOuter: Codable, Equatable {
    var title: String
    var inner: CodecInner
    var list: [CodecInner]
    var optional: CodecInner?
    var matrix: [[Int]]
    var flags: [String: Bool]
}

private enum CodecShape: Codable, Equatable {
    case circle(radius: Double)
    case rect(width: Double, height: Double)
    case point
    case labeled(String, Int)
    case nested(CodecInner, [CodecShape])
}

private class CodecAnimal: Codable {
    var name: String
    var legs: Int

    init(name: String, legs: Int) {
        self.name = name
        self.legs = legs
    }
}

private final class CodecDog: CodecAnimal {
    var breed: String

    init(name: String, legs: Int, breed: String) {
        self.breed = breed
        super.init(name: name, legs: legs)
    }

    private enum CodingKeys: String, CodingKey { case breed }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        breed = try container.decode(String.self, forKey: .breed)
        try super.init(from: container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(breed, forKey: .breed)
        try super.encode(to: container.superEncoder())
    }
}

/// A subclass that shares its encoder (and keyed container) with its superclass.
private final class CodecCat: CodecAnimal {
    var indoor: Bool

    init(name: String, legs: Int, indoor: Bool) {
        self.indoor = indoor
        super.init(name: name, legs: legs)
    }

    private enum CodingKeys: String, CodingKey { case indoor }

    required init(from decoder: any Decoder) throws {
        indoor = try decoder.container(keyedBy: CodingKeys.self).decode(Bool.self, forKey: .indoor)
        try super.init(from: decoder)
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(indoor, forKey: .indoor)
        try super.encode(to: encoder)
    }
}

/// Encodes a, b, c, d; decodes d, b, c, a.
private struct CodecReordered: Codable, Equatable {
    var a: Int
    var b: String
    var c: [Double]
    var d: Bool

    enum CodingKeys: String, CodingKey { case a, b, c, d }

    init(a: Int, b: String, c: [Double], d: Bool) {
        self.a = a
        self.b = b
        self.c = c
        self.d = d
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        d = try container.decode(Bool.self, forKey: .d)
        b = try container.decode(String.self, forKey: .b)
        c = try container.decode([Double].self, forKey: .c)
        a = try container.decode(Int.self, forKey: .a)
    }
}

private struct CodecVersionOne: Codable {
    var name: String
}

private struct CodecVersionTwo: Codable, Equatable {
    var name: String
    var nickname: String?
    var age: Int?
}

/// Int-valued coding keys go on the wire as integers.
private struct CodecIntKeyed: Codable, Equatable {
    var alpha: String
    var beta: Int

    enum CodingKeys: Int, CodingKey {
        case alpha = 1
        case beta = 2
    }
}

/// Nested arrays of any depth, for the depth limit.
private struct CodecNest: Decodable {
    var depth: Int

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        depth = container.isAtEnd ? 1 : try container.decode(CodecNest.self).depth + 1
    }
}

/// Writes to the outer container after opening nested ones, and to the nested
/// ones after writing to the outer one.
private struct CodecInterleaved: Codable, Equatable {
    var first: Int
    var list: [String]
    var sub: [String: Int]
    var last: String

    enum CodingKeys: String, CodingKey { case first, list, sub, last }
    enum SubKeys: String, CodingKey { case x, y }

    init(first: Int, list: [String], sub: [String: Int], last: String) {
        self.first = first
        self.list = list
        self.sub = sub
        self.last = last
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        var sub = container.nestedContainer(keyedBy: SubKeys.self, forKey: .sub)
        try container.encode(first, forKey: .first)
        try list.encode(self.list[0])
        try sub.encode(self.sub["x"]!, forKey: .x)
        try container.encode(last, forKey: .last)
        try list.encode(self.list[1])
        try sub.encode(self.sub["y"]!, forKey: .y)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        last = try container.decode(String.self, forKey: .last)
        var list = try container.nestedUnkeyedContainer(forKey: .list)
        self.list = [try list.decode(String.self), try list.decode(String.self)]
        let sub = try container.nestedContainer(keyedBy: SubKeys.self, forKey: .sub)
        self.sub = ["x": try sub.decode(Int.self, forKey: .x), "y": try sub.decode(Int.self, forKey: .y)]
        first = try container.decode(Int.self, forKey: .first)
    }
}

/// CodecEverything at once, for truncation and fuzzing.
private struct CodecEverything: Codable, Equatable {
    var int: Int
    var negative: Int64
    var byte: UInt8
    var big: UInt64
    var float: Float
    var double: Double
    var flag: Bool
    var text: String
    var data: Data
    var raw: [UInt8]
    var missing: String?
    var present: Int?
    var outer: CodecOuter
    var shapes: [CodecShape]
    var byID: [Int: String]
    var byName: [String: [Double]]
    var keyed: CodecIntKeyed
}

private let codecEverything = CodecEverything(
    int: 42, negative: -1_000_000_007, byte: 255, big: .max, float: 1.5, double: -.pi, flag: true,
    text: "héllo, wörld ✓", data: Data((0..<40).map { UInt8($0) }), raw: [1, 2, 3, 250], missing: nil, present: 7,
    outer: CodecOuter(
        title: "t",
        inner: CodecInner(id: 1, name: "one", tags: ["a", "b"]),
        list: [CodecInner(id: 2, name: "two", tags: []), CodecInner(id: 3, name: "", tags: ["c"])],
        optional: nil,
        matrix: [[1, 2], [], [-3]],
        flags: ["on": true, "off": false]
    ),
    shapes: [.circle(radius: 2), .rect(width: 1, height: 2), .point, .labeled("x", -9),
             .nested(CodecInner(id: 4, name: "n", tags: []), [.point])],
    byID: [1: "one", -2: "minus two", 300: "many"],
    byName: ["xs": [0.5, 1e300], "": []],
    keyed: CodecIntKeyed(alpha: "α", beta: -5)
)

/// Deterministic pseudo-random numbers (CodecRNG).
private struct CodecRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Round trips

@Suite struct BinaryCodecRoundTripTests {
    @Test func integersAtTheirLimits() throws {
        try expectCodecRoundTrip(Int.min); try expectCodecRoundTrip(Int.max); try expectCodecRoundTrip(0)
        try expectCodecRoundTrip(Int8.min); try expectCodecRoundTrip(Int8.max)
        try expectCodecRoundTrip(Int16.min); try expectCodecRoundTrip(Int16.max)
        try expectCodecRoundTrip(Int32.min); try expectCodecRoundTrip(Int32.max)
        try expectCodecRoundTrip(Int64.min); try expectCodecRoundTrip(Int64.max)
        try expectCodecRoundTrip(UInt.min); try expectCodecRoundTrip(UInt.max)
        try expectCodecRoundTrip(UInt8.min); try expectCodecRoundTrip(UInt8.max)
        try expectCodecRoundTrip(UInt16.min); try expectCodecRoundTrip(UInt16.max)
        try expectCodecRoundTrip(UInt32.min); try expectCodecRoundTrip(UInt32.max)
        try expectCodecRoundTrip(UInt64.min); try expectCodecRoundTrip(UInt64.max)
        try expectCodecRoundTrip(Int128(Int64.min)); try expectCodecRoundTrip(UInt128(UInt64.max))
        for n in [-129, -128, -65, -64, -1, 1, 63, 64, 127, 128, 16_383, 16_384] {
            try expectCodecRoundTrip(n)
        }
    }

    @Test func integerEncodingsAreVarints() throws {
        let encoder = BinaryEncoder()
        #expect(try encoder.encode(0) == [0x03, 0x00])
        #expect(try encoder.encode(-1) == [0x03, 0x01])
        #expect(try encoder.encode(1) == [0x03, 0x02])
        #expect(try encoder.encode(-65) == [0x03, 0x81, 0x01])
        #expect(try encoder.encode(UInt8(200)) == [0x04, 0xC8, 0x01])
        #expect(try encoder.encode(UInt64.max) == [0x04] + Array(repeating: 0xFF, count: 9) + [0x01])
        #expect(try encoder.encode(Int64.min) == [0x03] + Array(repeating: 0xFF, count: 9) + [0x01])
        // Either integer tag decodes into any width that holds the value.
        #expect(try BinaryDecoder().decode(UInt16.self, from: encoder.encode(Int64(300))) == 300)
        #expect(try BinaryDecoder().decode(Int8.self, from: encoder.encode(UInt64(127))) == 127)
    }

    @Test func int128BeyondSixtyFourBitsIsRefused() {
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode(Int128(Int64.max) + 1) }
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode([UInt128(UInt64.max) + 1]) }
    }

    @Test func floatsAndDoublesKeepTheirBits() throws {
        let floats: [Float] = [0, -0.0, 1.5, -3.25, .infinity, -.infinity, .nan, .signalingNaN,
                               Float(bitPattern: 0x7FC0_1234), .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for value in floats {
            #expect(try codecRoundTrip(value).bitPattern == value.bitPattern)
            #expect(try codecRoundTrip([value]).map(\.bitPattern) == [value.bitPattern])
            #expect(try codecRoundTrip(CodecBox(value: value)).value.bitPattern == value.bitPattern, "\(value)")
        }
        let doubles: [Double] = [0, -0.0, .pi, -1e300, .infinity, -.infinity, .nan,
                                 Double(bitPattern: 0x7FF8_0000_DEAD_BEEF), .leastNonzeroMagnitude]
        for value in doubles {
            #expect(try codecRoundTrip(value).bitPattern == value.bitPattern)
            #expect(try codecRoundTrip([value]).map(\.bitPattern) == [value.bitPattern])
            #expect(try codecRoundTrip(CodecBox(value: value)).value.bitPattern == value.bitPattern, "\(value)")
        }
        #expect(try BinaryEncoder().encode(Float(1)) == [0x05, 0x00, 0x00, 0x80, 0x3F])
        #expect(try BinaryEncoder().encode(Double(1)).count == 9)
        // A Float widens to Double.
        #expect(try BinaryDecoder().decode(Double.self, from: BinaryEncoder().encode(Float(0.5))) == 0.5)
    }

    @Test func bools() throws {
        try expectCodecRoundTrip(true)
        try expectCodecRoundTrip(false)
        #expect(try BinaryEncoder().encode([true, false]) == [0x09, 0x02, 0x02, 0x01])
    }

    @Test func strings() throws {
        for s in ["", "a", "hello", "héllo", "日本語のテキスト", "emoji 🌍👩‍👩‍👧", String(repeating: "x", count: 300), "nul\u{0}inside"] {
            try expectCodecRoundTrip(s)
        }
        #expect(try BinaryEncoder().encode("hi") == [0x07, 0x02, 0x68, 0x69])
        #expect(try BinaryEncoder().encode("") == [0x07, 0x00])
    }

    @Test func dataAndByteArraysUseTheCompactFastPath() throws {
        let data = Data((0..<64).map { UInt8($0 * 3 % 256) })
        let encoded = try BinaryEncoder().encode(data)
        #expect(encoded.count <= 66)
        #expect(encoded == [0x08, 64] + Array(data))
        #expect(try BinaryDecoder().decode(Data.self, from: encoded) == data)
        #expect(try BinaryDecoder().decode([UInt8].self, from: encoded) == Array(data))

        let bytes: [UInt8] = Array(data)
        #expect(try BinaryEncoder().encode(bytes) == encoded)
        try expectCodecRoundTrip(bytes)
        try expectCodecRoundTrip(data)
        try expectCodecRoundTrip(Data())
        try expectCodecRoundTrip([UInt8]())
        try expectCodecRoundTrip(Data(repeating: 0xAB, count: 100_000))

        // Inside a struct: key + 66 bytes, not an array of integers.
        let boxed = try BinaryEncoder().encode(CodecBox(value: data))
        #expect(boxed.count == 2 + 7 + 66)  // keyed header, "value" key, bytes
    }

    @Test func byteStringsAlsoDecodeFromArraysOfIntegers() throws {
        // What Data's and [UInt8]'s own Codable conformances write.
        let ints = try BinaryEncoder().encode([UInt16(1), 2, 255])
        #expect(try BinaryDecoder().decode(Data.self, from: ints) == Data([1, 2, 255]))
        #expect(try BinaryDecoder().decode([UInt8].self, from: ints) == [1, 2, 255])
        let tooBig = try BinaryEncoder().encode([256])
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode([UInt8].self, from: tooBig) }
    }

    @Test func optionals() throws {
        try expectCodecRoundTrip(Int?.none)
        try expectCodecRoundTrip(Int?.some(3))
        try expectCodecRoundTrip(String?.some(""))
        try expectCodecRoundTrip([1, nil, 3] as [Int?])
        try expectCodecRoundTrip(Int??.none)
        try expectCodecRoundTrip(Int??.some(.some(5)))
        try expectCodecRoundTrip([.none, .some(.some(1))] as [Int??])
        #expect(try BinaryEncoder().encode(Int?.none) == [0x00])
        // As with JSONEncoder, .some(nil) is written as nil and comes back as nil.
        #expect(try codecRoundTrip(Int??.some(.none)) == Int??.none)
        // nil fields are left out by encodeIfPresent.
        #expect(try codecRoundTrip(CodecVersionTwo(name: "n", nickname: nil, age: 3)) == CodecVersionTwo(name: "n", nickname: nil, age: 3))
    }

    @Test func arrays() throws {
        try expectCodecRoundTrip([Int]())
        try expectCodecRoundTrip([1, 2, 3])
        try expectCodecRoundTrip(["a", "", "ç"])
        try expectCodecRoundTrip([[1], [], [2, 3]])
        try expectCodecRoundTrip((0..<1000).map { CodecInner(id: $0, name: "n\($0)", tags: $0 % 3 == 0 ? ["t"] : []) })
        try expectCodecRoundTrip(Set([1, 5, 9]))
    }

    @Test func dictionaries() throws {
        try expectCodecRoundTrip(["a": 1, "b": 2, "": 3, "ü": 4])
        // String keys that look like integers stay exact.
        try expectCodecRoundTrip(["1": 1, "01": 2, "+1": 3, "-1": 4, "1.0": 5, "9999999999999999999999": 6])
        try expectCodecRoundTrip([1: "a", -1: "b", 0: "c", Int.max: "d", Int.min: "e"])
        try expectCodecRoundTrip([String: [Int: Bool]]())
        try expectCodecRoundTrip(["x": [1: true], "y": [:]])
        // Large dictionaries (indexed with hash maps).
        try expectCodecRoundTrip(Dictionary(uniqueKeysWithValues: (0..<2000).map { ("key\($0)", $0) }))
        try expectCodecRoundTrip(Dictionary(uniqueKeysWithValues: (0..<2000).map { ($0 * 7 - 500, "v\($0)") }))
        // Non-String/Int keys: an unkeyed container of key, value, key, value…
        try expectCodecRoundTrip([1.5: "a", 2.5: "b"])

        // Int keys are written as int keys: keyed, count 1, int key 5, value.
        #expect(try BinaryEncoder().encode([5: true]) == [0x0A, 0x01, 0x0B, 0x0A, 0x02])
        #expect(try BinaryEncoder().encode(["5": true]) == [0x0A, 0x01, 0x0B, 0x0A, 0x02])
        #expect(try BinaryEncoder().encode(["05": true]) == [0x0A, 0x01, 0x0C, 0x02, 0x30, 0x35, 0x02])
    }

    @Test func nestedStructs() throws {
        try expectCodecRoundTrip(codecEverything.outer)
        try expectCodecRoundTrip(codecEverything)
    }

    @Test func structEncodingIsCompact() throws {
        // {"id": 1, "name": "one", "tags": ["a"]}
        let bytes = try BinaryEncoder().encode(CodecInner(id: 1, name: "one", tags: ["a"]))
        #expect(bytes == [
            0x0A, 0x03,
            0x0C, 0x02, 0x69, 0x64, 0x03, 0x02,
            0x0C, 0x04, 0x6E, 0x61, 0x6D, 0x65, 0x07, 0x03, 0x6F, 0x6E, 0x65,
            0x0C, 0x04, 0x74, 0x61, 0x67, 0x73, 0x09, 0x01, 0x07, 0x01, 0x61,
        ])
    }

    @Test func intCodingKeysGoOutAsIntegers() throws {
        let value = CodecIntKeyed(alpha: "a", beta: 2)
        let bytes = try BinaryEncoder().encode(value)
        #expect(bytes == [0x0A, 0x02, 0x0B, 0x02, 0x07, 0x01, 0x61, 0x0B, 0x04, 0x03, 0x04])
        try expectCodecRoundTrip(value)
    }

    @Test func enumsWithAssociatedValues() throws {
        for shape in codecEverything.shapes {
            try expectCodecRoundTrip(shape)
        }
        try expectCodecRoundTrip(codecEverything.shapes)
    }

    @Test func classesWithSuperEncoder() throws {
        let dog = try codecRoundTrip(CodecDog(name: "Rex", legs: 4, breed: "collie"))
        #expect(dog.name == "Rex" && dog.legs == 4 && dog.breed == "collie")
        let cat = try codecRoundTrip(CodecCat(name: "Tom", legs: 3, indoor: true))
        #expect(cat.name == "Tom" && cat.legs == 3 && cat.indoor)
        let dogs = try codecRoundTrip([CodecDog(name: "a", legs: 1, breed: "b"), CodecDog(name: "c", legs: 2, breed: "d")])
        #expect(dogs.map(\.breed) == ["b", "d"])
    }

    @Test func superEncoderInUnkeyedContainers() throws {
        struct Pair: Codable, Equatable {
            var left: CodecInner
            var right: Int
            init(left: CodecInner, right: Int) { self.left = left; self.right = right }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.unkeyedContainer()
                try left.encode(to: container.superEncoder())
                try container.encode(right)
            }
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                left = try CodecInner(from: container.superDecoder())
                right = try container.decode(Int.self)
                #expect(container.isAtEnd)
            }
        }
        try expectCodecRoundTrip(Pair(left: CodecInner(id: 9, name: "x", tags: ["y"]), right: -3))
    }

    @Test func superEncoderForAKey() throws {
        final class Base: Codable, Equatable {
            var id: Int
            init(id: Int) { self.id = id }
            static func == (a: Base, b: Base) -> Bool { a.id == b.id }
        }
        struct Holder: Codable, Equatable {
            var base: Base
            var extra: String
            enum Keys: String, CodingKey { case base, extra }
            init(base: Base, extra: String) { self.base = base; self.extra = extra }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try base.encode(to: container.superEncoder(forKey: .base))
                try container.encode(extra, forKey: .extra)
            }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                extra = try container.decode(String.self, forKey: .extra)
                base = try Base(from: container.superDecoder(forKey: .base))
            }
        }
        try expectCodecRoundTrip(Holder(base: Base(id: 5), extra: "e"))
        // Same bytes as encoding the value under the key.
        struct Plain: Encodable { var base: CodecInner; var extra: String }
        struct ViaSuper: Encodable {
            var base: CodecInner; var extra: String
            enum CodingKeys: String, CodingKey { case base, extra }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try base.encode(to: container.superEncoder(forKey: .base))
                try container.encode(extra, forKey: .extra)
            }
        }
        let inner = CodecInner(id: 1, name: "n", tags: ["t"])
        #expect(try BinaryEncoder().encode(ViaSuper(base: inner, extra: "x")) == BinaryEncoder().encode(Plain(base: inner, extra: "x")))
    }

    @Test func fastPathArraysMatchTheGenericEncoding() throws {
        let encoder = BinaryEncoder()
        #expect(try encoder.encode([1, -2, 300]) == encoder.encode(ContiguousArray([1, -2, 300])))
        #expect(try encoder.encode(["a", "bc"]) == encoder.encode(ContiguousArray(["a", "bc"])))
        #expect(try encoder.encode([1.5, -0.0]) == encoder.encode(ContiguousArray([1.5, -0.0])))
        #expect(try encoder.encode([true, false]) == encoder.encode(ContiguousArray([true, false])))
        #expect(try encoder.encode([Float(1), 2]) == encoder.encode(ContiguousArray([Float(1), 2])))
        #expect(try encoder.encode([Int64.min, 0]) == encoder.encode(ContiguousArray([Int64.min, 0])))
        #expect(try encoder.encode([UInt64.max]) == encoder.encode(ContiguousArray([UInt64.max])))
        #expect(try encoder.encode([Int32.min]) == encoder.encode(ContiguousArray([Int32.min])))
        #expect(try encoder.encode([UInt32.max]) == encoder.encode(ContiguousArray([UInt32.max])))
        #expect(try BinaryDecoder().decode([Int].self, from: encoder.encode(ContiguousArray([4, 5]))) == [4, 5])
        #expect(try BinaryDecoder().decode(ContiguousArray<String>.self, from: encoder.encode(["x"])) == ["x"])
        // Ints written unsigned still decode into [Int]; Floats into [Double].
        #expect(try BinaryDecoder().decode([Int].self, from: encoder.encode([UInt16(7)])) == [7])
        #expect(try BinaryDecoder().decode([Double].self, from: encoder.encode([Float(0.5)])) == [0.5])
        try expectCodecRoundTrip([Int32.min, Int32.max])
        try expectCodecRoundTrip([UInt32.max])
        try expectCodecRoundTrip([Int64.min, Int64.max])
        try expectCodecRoundTrip([UInt64.max])
        try expectCodecRoundTrip([Bool]())
        try expectCodecRoundTrip([[String]]([["a"], []]))
    }

    @Test func keysDecodeInAnyOrder() throws {
        try expectCodecRoundTrip(CodecReordered(a: 1, b: "two", c: [3, 4], d: true))
    }

    @Test func decodeIfPresentForAMissingKey() throws {
        let bytes = try BinaryEncoder().encode(CodecVersionOne(name: "x"))
        #expect(try BinaryDecoder().decode(CodecVersionTwo.self, from: bytes) == CodecVersionTwo(name: "x", nickname: nil, age: nil))
        struct Probe: Decodable {
            init(from decoder: any Decoder) throws {
                enum Keys: String, CodingKey { case name, other }
                let container = try decoder.container(keyedBy: Keys.self)
                #expect(container.contains(.name))
                #expect(!container.contains(.other))
                #expect(try container.decodeIfPresent(Int.self, forKey: .other) == nil)
                #expect(try container.decodeIfPresent(String.self, forKey: .name) == "x")
                #expect(container.allKeys == [.name])
                #expect(throws: DecodingError.self) { try container.decodeNil(forKey: .other) }
                #expect(throws: DecodingError.self) { try container.decodeIfPresent(Int.self, forKey: .name) }
            }
        }
        _ = try BinaryDecoder().decode(Probe.self, from: bytes)
    }

    @Test func interleavedContainerWrites() throws {
        try expectCodecRoundTrip(CodecInterleaved(first: 1, list: ["p", "q"], sub: ["x": 10, "y": 20], last: "z"))
    }

    @Test func lastDuplicateKeyWins() throws {
        struct Twice: Encodable {
            enum Keys: String, CodingKey { case value }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .value)
                try container.encode(2, forKey: .value)
            }
        }
        #expect(try BinaryDecoder().decode(CodecBox<Int>.self, from: BinaryEncoder().encode(Twice())).value == 2)
        // In a large container too (hash-map index).
        var big = BinaryWriter(bytes: [0x0A, 40])
        for i in 0..<40 {
            big.bytes += [0x0C, 0x01, 0x6B, 0x03]  // "k": zigzag(i)
            big.varint(BinaryWriter.zigZag(Int64(i)))
        }
        #expect(try BinaryDecoder().decode([String: Int].self, from: big.bytes) == ["k": 39])
    }

    @Test func userInfoReachesTheCodableImplementations() throws {
        let key = CodingUserInfoKey(rawValue: "test.scale")!
        struct Scaled: Codable, Equatable {
            var value: Int
            init(value: Int) { self.value = value }
            init(from decoder: any Decoder) throws {
                value = try decoder.singleValueContainer().decode(Int.self) / (decoder.userInfo[CodingUserInfoKey(rawValue: "test.scale")!] as! Int)
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(value * (encoder.userInfo[CodingUserInfoKey(rawValue: "test.scale")!] as! Int))
            }
        }
        var encoder = BinaryEncoder()
        encoder.userInfo[key] = 10
        var decoder = BinaryDecoder()
        decoder.userInfo[key] = 10
        let bytes = try encoder.encode([Scaled(value: 4)])
        #expect(bytes == [0x09, 0x01, 0x03, 80])
        #expect(try decoder.decode([Scaled].self, from: bytes) == [Scaled(value: 4)])
    }

    @Test func encodeIntoAppendsToABuffer() throws {
        var buffer: [UInt8] = [0xEE]
        try BinaryEncoder().encode("a", into: &buffer)
        try BinaryEncoder().encode(CodecInner(id: 0, name: "", tags: []), into: &buffer)
        #expect(buffer.prefix(4) == [0xEE, 0x07, 0x01, 0x61])
        #expect(try BinaryDecoder().decode(CodecInner.self, from: buffer[4...]) == CodecInner(id: 0, name: "", tags: []))
    }

    @Test func acceptsDataAndSlices() throws {
        let bytes = try BinaryEncoder().encode(codecEverything)
        #expect(try BinaryDecoder().decode(CodecEverything.self, from: Data(bytes)) == codecEverything)
        #expect(try BinaryDecoder().decode(CodecEverything.self, from: ([0xFF] + bytes)[1...]) == codecEverything)
    }

    @Test func aCaughtErrorLeavesTheContainerWellFormed() throws {
        struct Failing: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.unkeyedContainer()
                try container.encode(1)
                throw CancellationError()
            }
        }
        struct Tolerant: Encodable {
            enum CodingKeys: String, CodingKey { case id, name, tags }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(1, forKey: .id)
                _ = try? container.encode(Failing(), forKey: .tags)
                try container.encode("n", forKey: .name)
                var list = container.nestedUnkeyedContainer(forKey: .tags)
                _ = try? list.encode(Failing())
                try list.encode("t")
            }
        }
        #expect(try BinaryDecoder().decode(CodecInner.self, from: BinaryEncoder().encode(Tolerant())) == CodecInner(id: 1, name: "n", tags: ["t"]))
    }

    @Test func encoderMisuseIsAnErrorNotACrash() {
        struct TwoSingles: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(1)
                try container.encode(2)
            }
        }
        struct KeyedAfterUnkeyed: Encodable {
            enum Keys: CodingKey { case a }
            func encode(to encoder: any Encoder) throws {
                var unkeyed = encoder.unkeyedContainer()
                try unkeyed.encode(1)
                var keyed = encoder.container(keyedBy: Keys.self)
                try keyed.encode(2, forKey: .a)
            }
        }
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode(TwoSingles()) }
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode(KeyedAfterUnkeyed()) }
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode([KeyedAfterUnkeyed()]) }
    }
}

// MARK: - Errors

@Suite struct BinaryCodecErrorTests {
    @Test func truncatedInputAtEveryOffsetThrows() throws {
        let bytes = try BinaryEncoder().encode(codecEverything)
        #expect(try BinaryDecoder().decode(CodecEverything.self, from: bytes) == codecEverything)
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self, "prefix of \(length) bytes") {
                try BinaryDecoder().decode(CodecEverything.self, from: bytes[..<length])
            }
        }
    }

    @Test func wrongTagIsATypeMismatch() throws {
        let string = try BinaryEncoder().encode("x")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(Int.self, from: string) }).kind == "typeMismatch")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode([Int].self, from: string) }).kind == "typeMismatch")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecInner.self, from: string) }).kind == "typeMismatch")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(Bool.self, from: [0x03, 0x00]) }).kind == "typeMismatch")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(String.self, from: [0x00]) }).kind == "valueNotFound")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(Int.self, from: [0x7F]) }).kind == "dataCorrupted")
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(Int.self, from: [0x0B, 0x00]) }).kind == "dataCorrupted")
    }

    @Test func errorsCarryTheCodingPath() throws {
        // CodecOuter.inner.id holds a string.
        struct BadInner: Codable { var id: String; var name: String; var tags: [String] }
        struct BadOuter: Codable {
            var title: String; var inner: BadInner; var list: [CodecInner]; var matrix: [[Int]]; var flags: [String: Bool]
        }
        let bad = BadOuter(title: "", inner: BadInner(id: "x", name: "", tags: []), list: [], matrix: [], flags: [:])
        let error = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecOuter.self, from: BinaryEncoder().encode(bad)) })
        #expect(error.kind == "typeMismatch")
        #expect(error.path == ["inner", "id"])

        // A missing key.
        let missing = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecInner.self, from: BinaryEncoder().encode(CodecVersionOne(name: "x"))) })
        #expect(missing.kind == "keyNotFound")
        #expect(missing.path == ["id"])

        // Deep in arrays: list[1].tags[0] is an Int.
        struct BadTags: Codable { var id: Int; var name: String; var tags: [Int] }
        struct BadList: Codable { var title: String; var inner: CodecInner; var list: [BadTags]; var matrix: [[Int]]; var flags: [String: Bool] }
        let badList = BadList(title: "", inner: CodecInner(id: 0, name: "", tags: []),
                              list: [BadTags(id: 0, name: "", tags: []), BadTags(id: 0, name: "", tags: [7])], matrix: [], flags: [:])
        let deep = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecOuter.self, from: BinaryEncoder().encode(badList)) })
        #expect(deep.kind == "typeMismatch")
        #expect(deep.path == ["list", "Index 1", "tags", "Index 0"])
    }

    @Test func fastPathArrayErrorsNameTheElement() throws {
        // [1, "x"] read as [Int].
        let bytes: [UInt8] = [0x09, 0x02, 0x03, 0x02, 0x07, 0x01, 0x78]
        let e = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode([Int].self, from: bytes) })
        #expect(e.kind == "typeMismatch")
        #expect(e.path == ["Index 1"])
        let boxed = try BinaryEncoder().encode(CodecBox(value: ["a", "b"]))
        let f = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecBox<[Double]>.self, from: boxed) })
        #expect(f.kind == "typeMismatch")
        #expect(f.path == ["value", "Index 0"])
        // Invalid UTF-8 in a [String] element.
        let badString: [UInt8] = [0x09, 0x02, 0x07, 0x00, 0x07, 0x01, 0xFF]
        let g = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode([String].self, from: badString) })
        #expect(g.kind == "dataCorrupted")
        #expect(g.path == ["Index 1"])
        // The depth limit applies to fast-path arrays too.
        let flat = BinaryDecoder(limits: .init(maxDepth: 1))
        #expect(try flat.decode([Int].self, from: BinaryEncoder().encode([1])) == [1])
        #expect(throws: DecodingError.self) { try flat.decode([[Int]].self, from: BinaryEncoder().encode([[1]])) }
        #expect(throws: DecodingError.self) { try flat.decode(CodecBox<[Int]>.self, from: BinaryEncoder().encode(CodecBox(value: [1]))) }
    }

    @Test func encodingErrorsCarryTheCodingPath() {
        do {
            _ = try BinaryEncoder().encode(CodecBox(value: [CodecBox(value: Int128(Int64.max) + 1)]))
            Issue.record("expected an EncodingError")
        } catch let EncodingError.invalidValue(_, context) {
            #expect(context.codingPath.map(\.stringValue) == ["value", "Index 0", "value"])
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func integerOverflowIntoANarrowType() throws {
        let e = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(UInt8.self, from: BinaryEncoder().encode(300)) })
        #expect(e.kind == "dataCorrupted")
        #expect(e.message.contains("300") && e.message.contains("UInt8"))
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Int8.self, from: BinaryEncoder().encode(-129)) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(UInt.self, from: BinaryEncoder().encode(-1)) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Int64.self, from: BinaryEncoder().encode(UInt64.max)) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode([UInt16].self, from: BinaryEncoder().encode([1, 70_000])) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(CodecBox<Int32>.self, from: BinaryEncoder().encode(CodecBox(value: Int64.max))) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Float.self, from: BinaryEncoder().encode(1e300)) }
    }

    @Test func overlongVarintsAreRejected() throws {
        // 11 bytes.
        let eleven: [UInt8] = [0x04] + Array(repeating: 0xFF, count: 10) + [0x01]
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(UInt64.self, from: eleven) }).kind == "dataCorrupted")
        // 10 bytes, but more than 64 bits.
        let tooWide: [UInt8] = [0x04] + Array(repeating: 0xFF, count: 9) + [0x02]
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(UInt64.self, from: tooWide) }
        // Non-minimal but within 10 bytes is fine.
        #expect(try BinaryDecoder().decode(UInt64.self, from: [0x04, 0x80, 0x80, 0x00]) == 0)
    }

    @Test func invalidUTF8IsRejected() throws {
        #expect(codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(String.self, from: [0x07, 0x02, 0xC3, 0x28]) }).kind == "dataCorrupted")
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(String.self, from: [0x07, 0x01, 0xFF]) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode([String].self, from: [0x09, 0x01, 0x07, 0x03, 0xED, 0xA0, 0x80]) }
        // In a key.
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode([String: Int].self, from: [0x0A, 0x01, 0x0C, 0x01, 0xC3, 0x03, 0x00]) }
    }

    @Test func trailingBytesAreRejected() throws {
        let bytes = try BinaryEncoder().encode(CodecInner(id: 1, name: "a", tags: []))
        let e = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecInner.self, from: bytes + [0x00]) })
        #expect(e.kind == "dataCorrupted")
        #expect(e.message.contains("trailing"))
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Int.self, from: [0x03, 0x00, 0x00]) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Int.self, from: []) }
    }

    @Test func depthBombIsRejected() throws {
        func nested(_ depth: Int) -> [UInt8] {
            (0..<(2 * (depth - 1))).map { $0 % 2 == 0 ? UInt8(0x09) : UInt8(0x01) } + [0x09, 0x00]
        }
        let bomb = nested(10_001)
        let e = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode(CodecNest.self, from: bomb) })
        #expect(e.kind == "dataCorrupted")
        #expect(e.message.contains("nested"))

        #expect(try BinaryDecoder().decode(CodecNest.self, from: nested(64)).depth == 64)
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(CodecNest.self, from: nested(65)) }
        let shallow = BinaryDecoder(limits: .init(maxDepth: 3))
        #expect(try shallow.decode(CodecNest.self, from: nested(3)).depth == 3)
        #expect(throws: DecodingError.self) { try shallow.decode(CodecNest.self, from: nested(4)) }
        #expect(throws: DecodingError.self) { try shallow.decode(CodecOuter.self, from: BinaryEncoder().encode(codecEverything.outer)) }
    }

    @Test func hugeDeclaredCountsAreRejectedWithoutAllocating() throws {
        // 2^32 - 1 elements declared, 1 byte present.
        let array: [UInt8] = [0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]
        let e = codecErrorSummary(codecDecodingError { _ = try BinaryDecoder().decode([Int?].self, from: array) })
        #expect(e.kind == "dataCorrupted")
        #expect(e.message.contains("declares"))
        let keyed: [UInt8] = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode([String: Int].self, from: keyed) }
        let string: [UInt8] = [0x07, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x61]
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(String.self, from: string) }
        let data: [UInt8] = [0x08, 0xFF, 0xFF, 0xFF, 0x7F, 0x61]
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Data.self, from: data) }

        // The collection count limit.
        let limited = BinaryDecoder(limits: .init(maxCollectionCount: 10))
        #expect(try limited.decode([Int].self, from: BinaryEncoder().encode(Array(0..<10))) == Array(0..<10))
        let tooMany = codecErrorSummary(codecDecodingError { _ = try limited.decode([Int].self, from: BinaryEncoder().encode(Array(0..<11))) })
        #expect(tooMany.message.contains("limit"))
    }

    @Test func randomBytesNeverCrash() {
        var rng = CodecRNG(state: 0x5EED)
        var decoded = 0
        for _ in 0..<1000 {
            let length = Int.random(in: 0...64, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Start most with a keyed container tag so more of them get past the first byte.
            if !bytes.isEmpty, Bool.random(using: &rng) { bytes[0] = 0x0A }
            if (try? BinaryDecoder().decode(CodecEverything.self, from: bytes)) != nil { decoded += 1 }
            _ = try? BinaryDecoder().decode([CodecShape].self, from: bytes)
            _ = try? BinaryDecoder().decode([String: [Int?]].self, from: bytes)
        }
        #expect(decoded == 0)
    }

    @Test func mutatedEncodingsNeverCrash() throws {
        let valid = try BinaryEncoder().encode(codecEverything)
        var rng = CodecRNG(state: 42)
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                default: if bytes.count > 1 { bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng)) }
                }
            }
            do {
                _ = try BinaryDecoder().decode(CodecEverything.self, from: bytes)
            } catch is DecodingError {
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }
}

// MARK: - Lifetimes

/// Remembers (weakly) the encoders and decoders it is handed.
private final class CodecWeakRefs: @unchecked Sendable {
    private var refs: [() -> AnyObject?] = []
    func add(_ object: AnyObject) { refs.append { [weak object] in object } }
    var alive: Int { refs.filter { $0() != nil }.count }
    var count: Int { refs.count }
}

/// Uses nested containers and super encoders/decoders, and records them.
private struct CodecTracked: Codable {
    var fail = false
    enum Keys: String, CodingKey { case a, b }
    static let refsKey = CodingUserInfoKey(rawValue: "refs")!

    init(fail: Bool) { self.fail = fail }

    func encode(to encoder: any Encoder) throws {
        let refs = encoder.userInfo[Self.refsKey] as! CodecWeakRefs
        refs.add(encoder as AnyObject)
        var container = encoder.container(keyedBy: Keys.self)
        var nested = container.nestedUnkeyedContainer(forKey: .a)
        let superEncoder = container.superEncoder()
        refs.add(superEncoder as AnyObject)
        try CodecInner(id: 1, name: "x", tags: []).encode(to: superEncoder)
        try nested.encode(CodecInner(id: 2, name: "y", tags: ["z"]))
        if fail { throw CancellationError() }
        try container.encode([CodecInner(id: 3, name: "", tags: [])], forKey: .b)
    }

    init(from decoder: any Decoder) throws {
        let refs = decoder.userInfo[Self.refsKey] as! CodecWeakRefs
        refs.add(decoder as AnyObject)
        let container = try decoder.container(keyedBy: Keys.self)
        let superDecoder = try container.superDecoder()
        refs.add(superDecoder as AnyObject)
        _ = try CodecInner(from: superDecoder)
        var nested = try container.nestedUnkeyedContainer(forKey: .a)
        _ = try nested.decode(CodecInner.self)
        _ = try container.decode([CodecInner].self, forKey: .b)
    }
}

@Suite struct BinaryCodecLifetimeTests {
    @Test func unkeyedContainersFitAnExistentialInline() {
        // Three words: no allocation when boxed as `any Unkeyed…Container`.
        #expect(MemoryLayout<BinaryUnkeyedDecoding>.size <= 3 * MemoryLayout<Int>.size)
        #expect(MemoryLayout<BinaryUnkeyedEncoding>.size <= 3 * MemoryLayout<Int>.size)
    }

    @Test func encodersAndDecodersAreFreedAfterUse() throws {
        let refs = CodecWeakRefs()
        var encoder = BinaryEncoder()
        encoder.userInfo[CodecTracked.refsKey] = refs
        var decoder = BinaryDecoder()
        decoder.userInfo[CodecTracked.refsKey] = refs
        let bytes = try encoder.encode([CodecTracked(fail: false), CodecTracked(fail: false)])
        _ = try decoder.decode([CodecTracked].self, from: bytes)
        #expect(refs.count == 8)
        #expect(refs.alive == 0)
        // Also when encoding throws half way.
        #expect(throws: CancellationError.self) { try encoder.encode([CodecTracked(fail: true)]) }
        #expect(refs.count == 10)
        #expect(refs.alive == 0)
    }
}
