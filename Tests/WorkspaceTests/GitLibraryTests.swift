import Testing
@testable import Workspace

@Suite struct GitLibraryTests {
    @Test func reportsTheLinkedLibgit2Version() {
        let parts = GitLibrary.version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3)
        // Debian 12 ships libgit2 1.5; the wrapper needs at least 1.1.
        #expect(parts[0] > 1 || (parts[0] == 1 && parts[1] >= 1))
    }
}
