import Foundation
import Testing
@testable import Gateway
import Storage

@Suite struct HealthControllerTests {
    @Test func reportsOkWithTheSchemaWhileTheDatabaseAnswers() async throws {
        let folder = NSTemporaryDirectory() + "hma-health-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try Store(path: folder + "/hma.sqlite")
        let report = await HealthController(store: store).report()
        #expect(report.status == "ok")
        #expect(report.version == HMAVersion.current)
        #expect(report.checks["database"]?.status == "ok")
        #expect(report.checks["database"]?.schema?.hasPrefix("v5") == true, "the latest migration")
    }

    @Test func reportsUnavailableWithTheErrorWhenTheDatabaseFails() async throws {
        let folder = NSTemporaryDirectory() + "hma-health-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try Store(path: folder + "/hma.sqlite")
        try store.close()
        let report = await HealthController(store: store).report()
        #expect(report.status == "unavailable")
        #expect(report.checks["database"]?.status == "error")
        #expect(report.checks["database"]?.error?.isEmpty == false)
    }
}
