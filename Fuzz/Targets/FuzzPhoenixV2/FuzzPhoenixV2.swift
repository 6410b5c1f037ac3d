import FuzzSupport
import Gateway
import NIOCore

/// Fuzzes the `vsn=2.0.0` Phoenix frame decoder (`PhoenixSerializer.v2` over `JSONScanner`) with whole text
/// messages. A frame that decodes must survive encode → decode unchanged, in its own serializer and in the other
/// one (the payload written back with `JSONWriter`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let frame = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    checkPhoenixRoundTrip(frame, serializer: .v2, other: .v1)
    return 0
}

/// The program's entry point (see `runFuzzer`).
@_cdecl("FuzzPhoenixV2_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzOneInput(data, size) }
}
