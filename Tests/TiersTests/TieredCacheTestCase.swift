import Tiers
import XCTest

/// The base of the tiered-cache tests over `TieredCacheTestStore`: makes caches on a manual clock and shuts them
/// down after each test.
class TieredCacheTestCase: XCTestCase {
    private var caches: [TieredCache] = []

    /// Where each test class's manual clock starts (distinct per class, so figures never line up by chance).
    class var clockStart: Double { 1_000_000 }

    override func tearDown() {
        for cache in caches { cache.shutdown() }
        caches = []
        super.tearDown()
    }

    /// A cache over the given test stores. L2 is write-through unless `adjust` says otherwise: these tests watch
    /// what each tier is given, which write-through makes the same for L2 and L3 (TieredCacheVictimL2Tests covers
    /// the default, a victim L2).
    func makeCache(
        l2: TieredCacheTestStore? = nil,
        l3: TieredCacheTestStore? = nil,
        journal: Journal? = nil,
        _ adjust: (inout TieredCache.Configuration) -> Void = { _ in }
    ) -> (TieredCache, ManualClock) {
        var configuration = TieredCache.Configuration()
        configuration.l2Mode = .writeThrough
        adjust(&configuration)
        let clock = ManualClock(start: Self.clockStart)
        let cache = TieredCache(configuration: configuration, l2: l2, l3: l3, journal: journal, clock: clock)
        caches.append(cache)
        return (cache, clock)
    }

    func entry(_ key: String, url: String? = nil, ttl: Int? = 600, clock: ManualClock) -> CacheEntry {
        CacheEntry(key: key, proxyURL: url ?? "http://\(key):8080", now: clock.now(), ttlSeconds: ttl)
    }
}
