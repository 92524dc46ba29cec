import NIOSSL
import PostgresNIO
import Tiers

/// postgres-nio's TLS setting for a `sslmode`. As libpq's `prefer` and `require`, neither checks the server's
/// certificate: they encrypt against eavesdropping, not against a server in the middle.
enum PostgresTLS {
    static func mode(_ mode: PostgresURL.TLSMode) throws(StoreError) -> PostgresConnection.Configuration.TLS {
        guard mode != .disable else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw StoreError(.io, "cannot set up TLS for PostgreSQL: \(error)")
        }
        return mode == .require ? .require(context) : .prefer(context)
    }
}
