import NIOCore

/// Flushes the replies of one event loop's connections once per round of reads, as redis-server writes its replies
/// before it sleeps.
///
/// NIO runs the tasks queued during a round of reads after that round: the first connection with replies in a round
/// queues one task, which flushes every connection that had replies. Writing each reply as soon as its request ran
/// woke a client for every reply (the kernel's wake-up of the reader was a fifth of the server's time); replies that
/// leave together wake a client once.
///
/// `@unchecked Sendable`: made off the loop (one per loop at start), its state is touched only on its event loop
/// (checked in `flushAfterThisRound`).
final class RoundFlusher: @unchecked Sendable {
    /// What the flusher calls back.
    protocol Client: AnyObject {
        func flushRound()
    }

    private let eventLoop: any EventLoop
    private var waiting: [any Client] = []
    private var flushing: [any Client] = []
    private var queued = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Flushes `client` after this round (call it once per round for a client, on the event loop).
    func flushAfterThisRound(_ client: any Client) {
        eventLoop.preconditionInEventLoop()
        waiting.append(client)
        guard !queued else { return }
        queued = true
        let flusher = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { flusher.value.flushRound() }
    }

    private func flushRound() {
        queued = false
        swap(&waiting, &flushing)
        for client in flushing {
            client.flushRound()
        }
        flushing.removeAll(keepingCapacity: flushing.count <= 1024)
    }
}
