import Testing
@testable import Workspace

/// The cgroup plans for both layouts, checked without touching /sys.
@Suite struct CgroupPlanTests {
    func plan(files: [String: String]) -> CgroupPlan {
        CgroupPlan.detect(root: "/cg", fileExists: { files[$0] != nil }, read: { files[$0] })
    }

    @Test func version1WritesOneHierarchyPerController() {
        let plan = plan(files: ["/cg/memory/cgroup.procs": "", "/cg/cpu/cgroup.procs": "", "/cg/pids/cgroup.procs": ""])
        #expect(plan.version == .v1(controllers: ["memory", "cpu", "pids"]))
        #expect(plan.enforcement == LimitEnforcement(memory: .cgroupV1, cpu: .cgroupV1, pids: .cgroupV1))
        var limits = SandboxLimits()
        limits.memoryBytes = 512 << 20
        limits.cpus = 0.5
        limits.pids = 100
        let writes = plan.limitWrites(group: "hma/p1", limits: limits).map { "\($0.0)=\($0.1)" }
        #expect(writes == [
            "/cg/memory/hma/p1/memory.limit_in_bytes=536870912", "/cg/memory/hma/p1/memory.memsw.limit_in_bytes?=536870912",
            "/cg/cpu/hma/p1/cpu.cfs_period_us=100000", "/cg/cpu/hma/p1/cpu.cfs_quota_us=50000", "/cg/pids/hma/p1/pids.max=100",
        ])
        #expect(plan.procsFiles(group: "hma/p1") == ["/cg/cpu/hma/p1/cgroup.procs", "/cg/memory/hma/p1/cgroup.procs", "/cg/pids/hma/p1/cgroup.procs"])
        #expect(plan.oomKillCounter(group: "hma/p1")?.file == "/cg/memory/hma/p1/memory.oom_control")
    }

    @Test func version2WritesOneGroupAndHandsControllersDown() {
        let plan = plan(files: ["/cg/cgroup.controllers": "cpuset cpu io memory pids\n"])
        #expect(plan.version == .v2(controllers: ["cpuset", "cpu", "io", "memory", "pids"]))
        #expect(plan.enforcement == LimitEnforcement(memory: .cgroupV2, cpu: .cgroupV2, pids: .cgroupV2))
        let writes = plan.limitWrites(group: "hma/p1", limits: SandboxLimits()).map { "\($0.0)=\($0.1)" }
        #expect(writes == [
            "/cg/cgroup.subtree_control=+memory +cpu +pids", "/cg/hma/cgroup.subtree_control=+memory +cpu +pids",
            "/cg/hma/p1/memory.max=536870912", "/cg/hma/p1/memory.swap.max?=0", "/cg/hma/p1/cpu.max=50000 100000", "/cg/hma/p1/pids.max=256",
        ])
        #expect(plan.procsFiles(group: "hma/p1") == ["/cg/hma/p1/cgroup.procs"])
        #expect(plan.oomKillCounter(group: "hma/p1")?.file == "/cg/hma/p1/memory.events")
    }

    @Test func withoutControllersRlimitsAreTheFallbackAndCPUIsNotEnforced() {
        #expect(plan(files: [:]).enforcement == LimitEnforcement(memory: .rlimit, cpu: .none, pids: .rlimit))
        #expect(plan(files: ["/cg/cgroup.controllers": "\n"]).version == .unavailable, "v2 with no controllers (this host's v2 mount)")
        #expect(plan(files: ["/cg/memory/cgroup.procs": ""]).enforcement == LimitEnforcement(memory: .cgroupV1, cpu: .none, pids: .rlimit))
        #expect(LimitEnforcement(memory: .rlimit, cpu: .none, pids: .rlimit).unenforced == ["cpu"])
    }
}
