import Foundation

/// The one thread that starts every sandboxed child (commands, terminals,
/// the git helper). It lives as long as the process.
///
/// Why: bwrap's `--die-with-parent` is `PR_SET_PDEATHSIG`, which the kernel
/// fires when the *thread* that forked the child exits — not the process.
/// Swift's cooperative pool retires idle threads after about 5 s, so a
/// child spawned from async code was killed 5 s after it started. Spawned
/// from this thread, a child lives until it ends, is stopped, or the
/// server process dies (then the kernel kills it, as wanted).
enum SpawnThread {
    private static let jobs = JobQueue()

    /// Runs `body` on the spawn thread and returns its result. Blocks the
    /// caller for as long as `body` takes: keep it to the fork/spawn itself.
    static func perform<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        jobs.add {
            result.value = body()
            done.signal()
        }
        done.wait()
        return result.value!
    }

    /// Written once on the spawn thread before `done.signal()`, read after
    /// `done.wait()`: the semaphore orders the two.
    private final class ResultBox<T>: @unchecked Sendable {
        var value: T?
    }

    /// Jobs for the thread, which it starts on first use.
    private final class JobQueue: @unchecked Sendable {
        private let condition = NSCondition()
        private var pending: [@Sendable () -> Void] = []
        private var started = false

        func add(_ job: @escaping @Sendable () -> Void) {
            condition.lock()
            pending.append(job)
            if !started {
                started = true
                let thread = Thread { [unowned self] in
                    // A thread inherits its creator's nice value, and every
                    // child inherits the spawn thread's: start from the default.
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 0)
                    self.serve()
                }
                thread.name = "hma-spawn"
                thread.start()
            }
            condition.signal()
            condition.unlock()
        }

        private func serve() {
            while true {
                condition.lock()
                while pending.isEmpty { condition.wait() }
                let batch = pending
                pending.removeAll()
                condition.unlock()
                for job in batch { job() }
            }
        }
    }
}
