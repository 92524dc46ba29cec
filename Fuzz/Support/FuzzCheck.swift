/// Stops the process with a message when an invariant does not hold, so libFuzzer records the input as a crash.
///
/// `precondition` would do in a debug build, but it is compiled out of `-Ounchecked` and says less; this always
/// runs and names the invariant.
///
/// - Parameters:
///   - condition: The invariant.
///   - message: What it means, printed before the process traps.
@inline(__always)
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        fatalError("fuzz invariant violated: \(message())", file: file, line: line)
    }
}
