import NIOCore

/// Runs task jobs on one NIO event loop. Inbound calls prefer their
/// connection's event loop: a default actor then runs the call on the thread
/// that read it, and its reply is written from there — no hand-off to the
/// cooperative pool and back per call (SE-0417 task executor preference).
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
