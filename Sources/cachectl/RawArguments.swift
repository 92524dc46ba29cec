import BinaryText

/// The command line as the kernel gave it. `CommandLine.arguments` replaces bytes that are not UTF-8 with U+FFFD,
/// which would change a binary key or value; an argument that is not UTF-8 is mapped losslessly instead
/// (``BinaryText``), and the bytes it stands for are what the server receives.
enum RawArguments {
    static var all: [String] {
        (0..<Int(CommandLine.argc)).map { index in
            guard let pointer = CommandLine.unsafeArgv[index] else { return "" }
            var length = 0
            while pointer[length] != 0 { length += 1 }
            let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
            if let text = String(validating: bytes, as: UTF8.self) { return text }
            return BinaryText.string(from: bytes)
        }
    }
}
