import NIOCore

extension TimeAmount {
    /// The same span as a Swift `Duration` (to the nanosecond).
    init(_ duration: Duration) {
        self = .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
