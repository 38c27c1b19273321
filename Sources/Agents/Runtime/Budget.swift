import Foundation

/// A project's spending limit and what it has spent (docs/agents.md, "Budgets").
///
/// Before each model call the run reserves what the call could cost at
/// most (its prompt plus the whole reply allowance): a call that could
/// take the total past the limit is not made, so the limit is never
/// overshot by a call in flight.
public struct Budget: Sendable, Equatable, Codable {
    public var limitUSD: Double?
    public var limitTokens: Int?
    public private(set) var spentUSD: Double = 0
    public private(set) var spentTokens: Int = 0

    public init(limitUSD: Double? = nil, limitTokens: Int? = nil) {
        self.limitUSD = limitUSD
        self.limitTokens = limitTokens
    }

    /// Whether a call costing at most `tokens` / `usd` still fits.
    public func allows(tokens: Int, usd: Double) -> Bool {
        if let limitTokens, spentTokens + tokens > limitTokens { return false }
        if let limitUSD, spentUSD + usd > limitUSD { return false }
        return true
    }

    public mutating func spend(tokens: Int, usd: Double) {
        spentTokens += tokens
        spentUSD += usd
    }

    public var description: String {
        var parts = ["spent \(spentTokens) tokens", String(format: "$%.4f", spentUSD)]
        if let limitTokens { parts.append("of \(limitTokens) tokens") }
        if let limitUSD { parts.append(String(format: "of $%.2f", limitUSD)) }
        return parts.joined(separator: " ")
    }
}

/// Notices an agent going in circles (docs/agents.md, "Loops"): the same
/// action with the same result several times in a row, or many turns with
/// no progress (no file written, created or deleted, no task handed down).
/// A deliberate WAIT is never counted: a long command is not a loop.
public struct ProgressWatch: Sendable, Equatable, Codable {
    public var repeatLimit = 3
    public var stallLimit = 15
    private var recent: [String] = []
    private var turnsWithoutProgress = 0

    public init(repeatLimit: Int = 3, stallLimit: Int = 15) {
        self.repeatLimit = repeatLimit
        self.stallLimit = stallLimit
    }

    /// Records one turn; returns why the agent looks stuck, if it does.
    public mutating func record(action fingerprint: String, progressed: Bool) -> String? {
        recent.append(fingerprint)
        if recent.count > repeatLimit { recent.removeFirst(recent.count - repeatLimit) }
        turnsWithoutProgress = progressed ? 0 : turnsWithoutProgress + 1
        if recent.count == repeatLimit && Set(recent).count == 1 {
            return "it repeated the same action with the same result \(repeatLimit) times"
        }
        if turnsWithoutProgress >= stallLimit {
            return "\(stallLimit) turns passed without writing a file or handing down a task"
        }
        return nil
    }

    public mutating func reset() {
        recent = []
        turnsWithoutProgress = 0
    }
}
