import NIOConcurrencyHelpers
import Synchronization

/// The connected clients: ids, the `--max-clients` bound and `CLIENT LIST`.
final class ClientRegistry: Sendable {
    private struct State {
        var nextID = 1
        var sessions: [Int: ClientSession] = [:]
        var totalConnections = 0
        var rejectedConnections = 0
    }

    private let state = NIOLockedValueBox(State())
    private let maxClientsSetting: Synchronization.Atomic<Int>

    init(maxClients: Int) {
        self.maxClientsSetting = Synchronization.Atomic(maxClients)
    }

    /// New connections beyond this many are refused (`maxclients`, CONFIG SET; connected clients stay).
    var maxClients: Int {
        get { maxClientsSetting.load(ordering: .relaxed) }
        set { maxClientsSetting.store(newValue, ordering: .relaxed) }
    }

    /// Registers a new client, or returns nil when `maxClients` are already connected.
    func register(peer: String, now: Double, authenticated: Bool = true) -> ClientSession? {
        state.withLockedValue { state in
            guard state.sessions.count < maxClients else {
                state.rejectedConnections += 1
                return nil
            }
            let session = ClientSession(id: state.nextID, connectedAt: now, peer: peer, authenticated: authenticated)
            state.nextID += 1
            state.totalConnections += 1
            state.sessions[session.id] = session
            return session
        }
    }

    func unregister(_ session: ClientSession) {
        state.withLockedValue { _ = $0.sessions.removeValue(forKey: session.id) }
    }

    var connectedCount: Int { state.withLockedValue { $0.sessions.count } }
    var totalConnections: Int { state.withLockedValue { $0.totalConnections } }
    var rejectedConnections: Int { state.withLockedValue { $0.rejectedConnections } }

    /// Sessions by id, for CLIENT LIST.
    var sessions: [ClientSession] {
        state.withLockedValue { $0.sessions.values.sorted { $0.id < $1.id } }
    }
}
