import CacheProtocol
import Dispatch
import LocalSocket
import Logging
import NIOCore
import Tiers

/// Serves one client: parses its requests, runs them strictly in order and writes their replies in order.
///
/// Commands that only touch memory run inline on the event loop and the replies of one read are flushed once.
/// A command that needs the disk runs on the connection's own serial queue (created on first need, targeting the
/// server's shared blocking queue); the requests behind it wait, so replies stay in order. Under `--fsync always` the
/// replies of a batch that wrote are held until the writers report the batch durable.
/// Backpressure: while the client does not read its replies (the channel is not writable), while a command is off
/// the loop, or while replies wait for durability, the handler stops reading requests.
final class ConnectionHandler: ChannelDuplexHandler, RoundFlusher.Client {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Executing requests as they come.
        case running
        /// A command runs on the blocking queue.
        case blocked
        /// QUIT, a protocol error or a shutdown: finish what is in flight, then close.
        case closing
        case closed
    }

    private let server: ServerContext
    private let blockingTarget: DispatchQueue
    /// Flushes this connection's replies after its event loop's round of reads.
    private let flusher: RoundFlusher
    private let logger: Logger
    /// Who connected (`SO_PEERCRED`), nil when the kernel did not say.
    private let peer: PeerCredentials?
    private var session: ClientSession?
    private var parser: RESPRequestParser
    private var inbound: ByteBuffer?
    private var outbound: ByteBuffer
    private var state = State.running
    private var readSuppressed = false
    private var pausedForWritability = false
    /// No more requests will be read (the client half-closed, or the server is shutting down): run the ones
    /// already received, write their replies, then close.
    private var draining = false
    private var processing = false
    private var wroteSinceFlush = false
    /// A flush is queued to run after the event loop's current round of reads.
    private var flushQueued = false
    private var commandsSinceReport = 0
    private var blockingQueue: DispatchQueue?
    /// The queue running this connection's command off the loop, while one runs.
    private var inFlightQueue: DispatchQueue?
    /// Replies written but waiting for durability, in order.
    private var held = CircularBuffer<HeldReplies>()
    private var nextHeldID = 0
    private var context: ChannelHandlerContext?

    private struct HeldReplies {
        var id: Int
        var bytes: ByteBuffer
        /// The writers have settled this batch.
        var settled: Bool
        /// ... and no disk tier could commit it.
        var lost = false
        /// The replies acknowledge durability (`--fsync always`): a lost batch must not be acknowledged. When
        /// false the batch only waited for a writer backlog to drain.
        var acknowledgesDurability = true
    }

    init(
        server: ServerContext,
        peer: PeerCredentials?,
        blockingTarget: DispatchQueue,
        flusher: RoundFlusher,
        logger: Logger
    ) {
        self.server = server
        self.peer = peer
        self.blockingTarget = blockingTarget
        self.flusher = flusher
        self.logger = logger
        var limits = RESPRequestParser.Limits()
        limits.maxInlineLength = server.configuration.maxInlineLength
        limits.maxBulkLength = server.configuration.maxBulkLength
        limits.maxMultibulkLength = server.configuration.maxArguments
        self.parser = RESPRequestParser(limits: limits)
        self.outbound = ByteBuffer()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.outbound = context.channel.allocator.buffer(capacity: 512)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard server.access.admits(peer) else {
            // At most one line a second, so refused peers cannot flood the log; the line says how many it stands for.
            let now = server.cache.now()
            let unlogged = server.counters.withLockedValue { counters -> Int? in
                counters.refusedPeers += 1
                counters.refusedSinceLogged += 1
                guard now - counters.refusalLoggedAt >= 1 else { return nil }
                counters.refusalLoggedAt = now
                defer { counters.refusedSinceLogged = 0 }
                return counters.refusedSinceLogged
            }
            if let unlogged {
                logger.warning(
                    "refused a peer outside --allow-uid/--allow-gid",
                    metadata: ["peer": "\(peer.map(\.description) ?? "unknown")", "refused.count": "\(unlogged)"]
                )
            }
            refuse(context, "ERR connection refused: this user may not connect (see cachesrvd --allow-uid/--allow-gid)")
            return
        }
        guard
            let session = server.clients.register(
                peer: "unix",
                now: server.cache.now(),
                authenticated: !server.access.requiresPassword
            )
        else {
            refuse(context, "ERR max number of clients reached")
            return
        }
        self.session = session
        let channel = context.channel
        session.setCloser { channel.close(promise: nil) }
        session.setMonitorSink { line in
            guard channel.isActive else { return false }
            guard channel.isWritable else {
                // A monitor that cannot keep up is disconnected, as Redis does past its output buffer limit.
                channel.close(promise: nil)
                return false
            }
            channel.writeAndFlush(line, promise: nil)
            return true
        }
        logger.debug("client connected", metadata: ["connection.id": "\(session.id)"])
        context.fireChannelActive()
    }

    /// Answers one error and closes, without reading anything from the client.
    private func refuse(_ context: ChannelHandlerContext, _ message: String) {
        var reply = context.channel.allocator.buffer(capacity: message.utf8.count + 3)
        reply.writeRESPError(message)
        state = .closed
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in
            // Half-close first: the client reads the error, then the end. Closing outright with a request of its
            // still unread here would reset the connection and lose the error. The channel closes when the
            // client does, or after a second at most.
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    /// The pipeline is torn down (the channel closed) or the handler was taken out of it: drop the context, which
    /// holds this handler (a retain cycle that kept every closed connection's handler, buffers and pipeline alive).
    func handlerRemoved(context: ChannelHandlerContext) {
        release()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closed, session != nil else { return }
        var bytes = unwrapInboundIn(data)
        if inbound == nil {
            inbound = bytes
        } else {
            inbound!.writeBuffer(&bytes)
        }
        if inbound!.readableBytes > server.configuration.maxQueryBuffer {
            logger.warning(
                "client query buffer limit reached, closing",
                metadata: ["connection.id": "\(session?.id ?? 0)", "limit": "\(server.configuration.maxQueryBuffer)"]
            )
            inbound = nil
            state = .closing
            closeWhenDrained()
            return
        }
        if state == .running, !pausedForWritability {
            processInbound()
            flushAfterThisRound()
        }
    }

    /// Replies are not flushed here but after the event loop's round of reads (`flushAfterThisRound`): NIO also calls
    /// this when it reads the end of the input, and a write that fails then (the client went away without reading)
    /// closes the channel inside this call, after which NIO half-closes the input of the closed channel and its debug
    /// build traps (`BaseSocketChannel.unregisterForReadable`: `isRegisteredFully`). A close in a task it handles.
    func channelReadComplete(context: ChannelHandlerContext) {
        reportCommands()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, pausedForWritability {
            pausedForWritability = false
            if state == .running {
                processInbound()
                flushOutbound()
            }
        }
        resumeReadingIfPossible()
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if canRead(context) {
            context.read()
        } else {
            readSuppressed = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if state == .closed, (event as? ChannelEvent) == .inputClosed {
            context.close(promise: nil)  // a refused client went away
            return
        }
        if event is ChannelShouldQuiesceEvent || (event as? ChannelEvent) == .inputClosed {
            draining = true
            if state == .running, !pausedForWritability {
                processInbound()
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["connection.id": "\(session?.id ?? 0)", "error": "\(error)"])
        context.close(promise: nil)
    }
}

// MARK: - Executing requests

extension ConnectionHandler {
    /// Runs the complete requests buffered, in order, until one has to wait; once draining and idle, closes.
    private func processInbound() {
        runBufferedRequests()
        if draining, state == .running, !pausedForWritability {
            state = .closing
            closeWhenDrained()
        }
    }

    private func runBufferedRequests() {
        guard !processing, let session, var buffer = inbound else { return }
        processing = true
        inbound = nil
        defer {
            processing = false
            if state != .closed {
                if buffer.readableBytes == 0 {
                    buffer.clear()
                } else if buffer.readerIndex > 64 * 1024 {
                    buffer.discardReadBytes()
                }
                // Bytes that arrived while we ran are appended after what is left.
                if var arrived = inbound {
                    buffer.writeBuffer(&arrived)
                }
                inbound = buffer
            }
        }
        while state == .running {
            let request: RESPRequest?
            // Until it authenticates, a client gets Redis's small request limits (10 arguments, 16 KiB bulks).
            parser.authenticationRequired = server.isLocked(session)
            do {
                request = try parser.next(&buffer)
            } catch {
                protocolError(error)
                return
            }
            guard let request else { break }
            commandsSinceReport += 1
            let spec = server.commands.lookup(request.arguments[0])
            let placement = server.placement(of: spec, arguments: request.arguments, session: session)
            if placement != .eventLoop {
                runBlocking(request.arguments, spec: spec, session: session, bulk: placement == .bulk)
                break
            }
            let (result, wrote) = server.execute(
                request.arguments,
                spec: spec,
                session: session,
                mode: server.eventLoopMode,
                into: &outbound
            )
            switch result {
            case .replied:
                wroteSinceFlush = wroteSinceFlush || wrote
            case .wouldBlock:
                runBlocking(request.arguments, spec: spec, session: session, bulk: false)
            case .close:
                state = .closing
                closeWhenDrained()
            }
            if outbound.readableBytes >= server.configuration.outputBufferHighWater {
                flushOutbound()
                if let context, !context.channel.isWritable {
                    pausedForWritability = true
                    break
                }
            }
        }
    }

    /// Runs one command on the connection's serial blocking queue, then resumes the pipeline on the event loop.
    private func runBlocking(_ arguments: [ByteBuffer], spec: CommandSpec?, session: ClientSession, bulk: Bool) {
        guard let context else { return }
        state = .blocked
        let queue: DispatchQueue
        if bulk {
            queue = server.bulkLane
        } else if let blockingQueue {
            queue = blockingQueue
        } else {
            queue = DispatchQueue(label: "cachesrvd.connection.\(session.id)", target: blockingTarget)
            blockingQueue = queue
        }
        let server = self.server
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let allocator = context.channel.allocator
        server.counters.withLockedValue {
            $0.blockingCommands += 1
            if bulk { $0.bulkCommands += 1 }
        }
        inFlightQueue = queue
        queue.async {
            var reply = allocator.buffer(capacity: 256)
            let (result, wrote) = server.execute(
                arguments,
                spec: spec,
                session: session,
                mode: .mayBlock,
                into: &reply
            )
            let finished = reply
            loop.execute {
                handler.value.resumeAfterBlocking(reply: finished, result: result, wrote: wrote)
            }
        }
    }

    private func resumeAfterBlocking(reply: ByteBuffer, result: ExecutionResult, wrote: Bool) {
        inFlightQueue = nil
        guard state == .blocked else { return }
        var reply = reply
        outbound.writeBuffer(&reply)
        wroteSinceFlush = wroteSinceFlush || wrote
        if result == .close {
            state = .closing
            closeWhenDrained()
            return
        }
        state = .running
        processInbound()
        flushOutbound()
        resumeReadingIfPossible()
    }

    private func protocolError(_ error: RESPProtocolError) {
        server.counters.withLockedValue { $0.protocolErrors += 1 }
        logger.debug(
            "protocol error, closing",
            metadata: ["connection.id": "\(session?.id ?? 0)", "error": "\(error.message)"]
        )
        outbound.writeRESPError("ERR " + error.message)
        state = .closing
        closeWhenDrained()
    }
}

// MARK: - Writing replies

extension ConnectionHandler {
    /// Flushes the replies once the event loop has read every connection that was ready (see `RoundFlusher`).
    private func flushAfterThisRound() {
        guard !flushQueued, context != nil else { return }
        flushQueued = true
        flusher.flushAfterThisRound(self)
    }

    func flushRound() {
        flushQueued = false
        flushOutbound()
    }

    /// Writes the replies gathered so far, holding them back while an earlier batch waits for durability.
    private func flushOutbound() {
        reportCommands()
        guard let context, outbound.readableBytes > 0 else { return }
        let bytes = outbound
        outbound = context.channel.allocator.buffer(capacity: 512)
        let durability = wroteSinceFlush ? server.cache.durabilityPoint() : nil
        let backlog =
            wroteSinceFlush && durability == nil
            ? server.cache.backlogPoint(limit: server.live.maxPendingWrites) : nil
        if let point = durability ?? backlog {
            wroteSinceFlush = false
            let id = nextHeldID
            nextHeldID += 1
            var replies = HeldReplies(id: id, bytes: bytes, settled: false)
            replies.acknowledgesDurability = durability != nil
            held.append(replies)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            server.cache.whenDurable(point) { committed in
                loop.execute { handler.value.settle(id, committed: committed) }
            }
            return
        }
        wroteSinceFlush = false
        if held.isEmpty {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        } else {
            held.append(HeldReplies(id: -1, bytes: bytes, settled: true))
        }
    }

    /// A held batch was settled by the writers: write every leading settled batch. A batch no disk tier could
    /// commit is never acknowledged: the client gets an error in place of its replies and the connection closes,
    /// so it cannot take the writes for durable.
    private func settle(_ id: Int, committed: Bool) {
        guard let context, state != .closed else { return }
        if let index = held.firstIndex(where: { $0.id == id }) {
            held[index].settled = true
            held[index].lost = !committed && held[index].acknowledgesDurability
        }
        var wrote = false
        while let first = held.first, first.settled {
            held.removeFirst()
            if first.lost {
                held.removeAll()
                var reply = context.channel.allocator.buffer(capacity: 160)
                reply.writeRESPError(
                    "IOERR writes applied in memory could not be persisted by the durable disk tier "
                        + "(see INFO persistence); closing the connection"
                )
                context.write(wrapOutboundOut(reply), promise: nil)
                logger.warning(
                    "writes not persisted under --fsync always; closing the client",
                    metadata: ["connection.id": "\(session?.id ?? 0)"]
                )
                state = .closing
                wrote = true
                break
            }
            context.write(wrapOutboundOut(first.bytes), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
        if state == .closing {
            closeWhenDrained()
        } else {
            resumeReadingIfPossible()
        }
    }

    /// Closes once every reply in flight is written (after QUIT, a protocol error or during shutdown).
    private func closeWhenDrained() {
        guard let context, state == .closing else { return }
        flushOutbound()
        guard held.isEmpty else { return }  // settle calls back
        state = .closed
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func canRead(_ context: ChannelHandlerContext) -> Bool {
        state == .running && !draining && !pausedForWritability && context.channel.isWritable && held.count < 64
    }

    private func resumeReadingIfPossible() {
        guard readSuppressed, let context, canRead(context) else { return }
        readSuppressed = false
        context.read()
    }

    /// Releases everything the connection holds once it is closed: its session in the registry, the unparsed
    /// input (an unfinished bulk of up to `--client-query-buffer-limit`), the unwritten and held replies, the
    /// parser's argument table and the serial queue. A command still running off the loop or a durability callback
    /// still pending keeps the handler alive only until it calls back, and then finds it closed.
    private func release() {
        state = .closed
        reportCommands()
        if let session {
            session.setCloser(nil)
            session.setMonitorSink(nil)
            server.monitors.remove(session: session.id)
            // The session's state belongs to the command still running off the loop, if one is: forget its watches
            // on that command's serial queue, after it (a WATCH in flight registers first, then is removed).
            let watches = server.watches
            let forget: @Sendable () -> Void = {
                watches.unwatch(session.state.unwatchAll().map(\.key), session: session.id)
            }
            if let queue = inFlightQueue {
                queue.async(execute: forget)
            } else {
                forget()
            }
            server.clients.unregister(session)
            logger.debug("client disconnected", metadata: ["connection.id": "\(session.id)"])
            self.session = nil
        }
        inbound = nil
        outbound = ByteBuffer()
        held.removeAll()
        parser = RESPRequestParser(limits: parser.limits)
        blockingQueue = nil
    }

    private func reportCommands() {
        guard commandsSinceReport > 0 else { return }
        let count = commandsSinceReport
        commandsSinceReport = 0
        server.counters.withLockedValue { $0.commandsProcessed += count }
    }
}
