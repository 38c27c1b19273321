/// One page of a newest-first history query. `nextCursor` is nil on the last
/// page; pass it as `before` to get the next (older) page.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?
}

extension Page: Equatable where Item: Equatable {}
