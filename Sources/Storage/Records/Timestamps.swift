import Foundation

/// Rows store time as integer milliseconds since 1970 (UTC): compact, indexed
/// and ordered without parsing, and exact when read back.
extension Date {
    init(milliseconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }

    var milliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// This date cut to the millisecond, as the database will return it.
    var truncatedToMilliseconds: Date { Date(milliseconds: milliseconds) }
}
