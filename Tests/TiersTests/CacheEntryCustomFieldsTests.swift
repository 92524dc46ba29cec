import Tiers
import XCTest

/// Custom fields: an entry's own attributes beyond the schema, bounded, ordered, named by bytes.
final class CacheEntryCustomFieldsTests: XCTestCase {
    private let now = 1_764_038_400.0
    private let limits = CustomFieldLimits(maxCount: 3, maxFieldSize: 16)

    private func makeEntry() -> CacheEntry {
        CacheEntry(key: "k", proxyURL: "http://1.2.3.4:8080", now: now, ttlSeconds: 600)
    }

    func testNamesResolveToSchemaFieldsIgnoringCaseElseToCustomFieldsAsGiven() {
        XCTAssertEqual(CacheEntry.FieldName("PROXY_url"), .schema(.proxyURL))
        XCTAssertEqual(CacheEntry.FieldName("country"), .custom("country"))
        XCTAssertEqual(CacheEntry.FieldName("").text, "")
        XCTAssertEqual(CacheEntry.FieldName("Health_Status").text, "health_status")
        XCTAssertNotEqual(CacheEntry.FieldName("Country"), .custom("country"), "custom names are case-sensitive")
        // Canonically equivalent but different bytes: precomposed and decomposed e-acute are two names.
        XCTAssertNotEqual(CacheEntry.FieldName("caf\u{E9}"), .custom("cafe\u{301}"))
    }

    func testCustomFieldsKeepInsertionOrderAfterTheSchemaFields() throws {
        var entry = makeEntry()
        XCTAssertTrue(try entry.set(.custom("zeta"), to: "1", now: now, limits: limits))
        XCTAssertTrue(try entry.set(.custom("alpha"), to: "2", now: now, limits: limits))
        XCTAssertFalse(try entry.set(.custom("zeta"), to: "3", now: now, limits: limits), "replaced in place")
        XCTAssertTrue(try entry.set(.custom("Zeta"), to: "4", now: now, limits: limits))
        let names = entry.allFieldValues.map(\.name)
        XCTAssertEqual(names.first, "proxy_url")
        XCTAssertEqual(Array(names.suffix(3)), ["zeta", "alpha", "Zeta"])
        XCTAssertEqual(entry.allFieldValues.last?.value, "4")
        XCTAssertEqual(entry.customValue(of: "zeta"), "3")
        XCTAssertEqual(entry.fieldCount, entry.fieldValues.count + 3)
    }

    func testNamesDifferingOnlyInNormalisationAreDistinct() throws {
        var entry = makeEntry()
        try entry.setCustom("caf\u{E9}", to: "precomposed", limits: limits)
        try entry.setCustom("cafe\u{301}", to: "decomposed", limits: limits)
        XCTAssertEqual(entry.customFields.count, 2)
        XCTAssertEqual(entry.customValue(of: "caf\u{E9}"), "precomposed")
        XCTAssertEqual(entry.customValue(of: "cafe\u{301}"), "decomposed")
        XCTAssertTrue(entry.unsetCustom("cafe\u{301}"))
        XCTAssertEqual(entry.customFields, [CustomField(name: "caf\u{E9}", value: "precomposed")])
    }

    func testSchemaFieldsKeepTheirValidation() {
        var entry = makeEntry()
        XCTAssertThrowsError(try entry.set(.schema(.accessCount), to: "many", now: now, limits: limits))
        XCTAssertThrowsError(try entry.setCustom("ACCESS_COUNT", to: "5", limits: limits)) { error in
            XCTAssertEqual(error as? TieredCacheError, .invalid("'ACCESS_COUNT' is a schema field, not a custom field"))
        }
        XCTAssertEqual(entry, makeEntry())
    }

    func testBoundsRefuseAndChangeNothing() throws {
        var entry = makeEntry()
        for name in ["a", "b", "c"] {
            try entry.setCustom(name, to: "v", limits: limits)
        }
        let full = entry
        XCTAssertThrowsError(try entry.setCustom("d", to: "v", limits: limits)) { error in
            XCTAssertEqual(
                error as? TieredCacheError,
                .invalid("too many custom fields: an entry holds at most 3 (max-custom-fields)")
            )
        }
        XCTAssertEqual(entry, full)
        // A field already there may still change: the count does not grow.
        XCTAssertFalse(try entry.setCustom("a", to: "w", limits: limits))
        // 16 bytes of name and value pass, 17 do not (bytes, not characters: "é" is 2).
        XCTAssertFalse(try entry.setCustom("b", to: String(repeating: "x", count: 15), limits: limits))
        XCTAssertThrowsError(try entry.setCustom("b", to: String(repeating: "\u{E9}", count: 8), limits: limits)) {
            error in
            XCTAssertEqual(
                error as? TieredCacheError,
                .invalid("custom field of 17 bytes (name and value): the most is 16 (max-custom-field-size)")
            )
        }
        XCTAssertEqual(entry.customValue(of: "b"), String(repeating: "x", count: 15))
        var none = makeEntry()
        XCTAssertThrowsError(try none.setCustom("x", to: "", limits: CustomFieldLimits(maxCount: 0)))
    }

    func testUnsetRemovesCustomFieldsAndRequiredSchemaFieldsStillRefuse() throws {
        var entry = makeEntry()
        try entry.setCustom("country", to: "de", limits: limits)
        XCTAssertTrue(try entry.unset(.custom("country")))
        XCTAssertFalse(try entry.unset(.custom("country")))
        XCTAssertTrue(entry.customFields.isEmpty)
        XCTAssertThrowsError(try entry.unset(.schema(.source)))
        XCTAssertEqual(entry, makeEntry())
    }

    func testAnEmptyProxyURLIsAValue() throws {
        var entry = makeEntry()
        try entry.set(.proxyURL, to: "", now: now)
        XCTAssertEqual(entry.value(of: .proxyURL), "")
    }

    func testValuesAreOpaque() throws {
        var entry = makeEntry()
        let odd = "\u{0}\r\n\"\\\u{FFFD}\u{1F600}"
        try entry.setCustom("odd", to: odd, limits: CustomFieldLimits())
        XCTAssertTrue(try XCTUnwrap(entry.customValue(of: "odd")).utf8.elementsEqual(odd.utf8))
    }

    func testRestoredFieldsDropSchemaNamesAndRepeatsWithoutBounds() {
        var entry = makeEntry()
        let many = (0..<10).map { CustomField(name: "f\($0)", value: String(repeating: "v", count: 100)) }
        let dropped = entry.restoreCustomFields(
            many + [CustomField(name: "f1", value: "again"), CustomField(name: "Source", value: "x")]
        )
        XCTAssertEqual(dropped, 2)
        XCTAssertEqual(entry.customFields, many)
        XCTAssertEqual(entry.source, "unknown")
    }
}
