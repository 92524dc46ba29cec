import Foundation
import Redaction

extension JSONLStore {
    /// Rewrites the lines that older versions (and proxywhirl) left with a URL password in clear: a
    /// `proxy_url` with a password and no `proxy_url_encrypted` is sealed (see `ProxyURLSeal`), and a
    /// `last_health_error` with a URL password is masked (it was masked in memory when read). Shards without
    /// such lines are not touched. Run when the store opens.
    ///
    /// - Returns: how many lines were rewritten.
    @discardableResult
    func sealLegacySecrets() throws(StoreError) -> Int {
        let cipher = self.cipher
        var sealed = 0
        var firstError: StoreError?
        for number in shards.indices {
            do {
                try sealShard(number, cipher: cipher, count: &sealed)
            } catch {
                // An unreadable shard is reported by its own operations; the others are still sealed.
                firstError = firstError ?? error
            }
        }
        if sealed > 0 {
            logger.info(
                "JSONL lines with clear URL passwords sealed",
                metadata: ["cache.tier": "l2", "jsonl.lines": "\(sealed)"]
            )
        }
        if let firstError { throw firstError }
        return sealed
    }

    private func sealShard(_ number: Int, cipher: CredentialCipher, count sealed: inout Int) throws(StoreError) {
        try withShard(number) { shard throws(StoreError) in
            let stale = shard.slots.filter { Self.holdsClearSecret($0.value.record, line: $0.value.line) }
            guard !stale.isEmpty else { return }
            try shard.withFileLock { () throws(StoreError) in
                try shard.refreshIfChanged()
                for key in stale.keys {
                    guard var record = shard.slots[key]?.record else { continue }
                    if record.proxyURLToken == nil {
                        let url = ProxyURLSeal.seal(record.entry.proxyURL, with: cipher)
                        record.entry.proxyURL = url.text
                        record.proxyURLToken = url.token
                    }
                    shard.slots[key]?.record = record
                    shard.slots[key]?.line = JSONLEntryCodec.encode(record)
                    sealed += 1
                }
                try shard.rewrite(policy: fsync)
            }
        }
    }

    /// Whether `line` (which decoded to `record`) holds a URL password in clear.
    private static func holdsClearSecret(_ record: JSONLRecord, line: [UInt8]) -> Bool {
        if record.proxyURLToken == nil && URLPassword.isPresent(in: record.entry.proxyURL) { return true }
        // The decoded error text is masked already; the line's own text may not be.
        guard record.entry.lastHealthError != nil,
            let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
            let raw = object["last_health_error"] as? String
        else { return false }
        return URLPassword.maskedEverywhere(in: raw) != raw
    }
}
