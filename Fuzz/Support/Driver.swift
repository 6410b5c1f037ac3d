/// libFuzzer's entry point for programs with their own `main` (LLVM 11 and later).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments and `test`, the target's `LLVMFuzzerTestOneInput`.
///
/// SwiftPM links every executable target with `main` aliased to `<Target>_main` (so that tests can import
/// executables), which leaves libFuzzer's own `main` unused and fails the link when the target, built with
/// `-parse-as-library`, has no `main` of its own. Each target therefore exports `<Target>_main` with
/// `@_cdecl` and calls this.
package func runFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ test: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, test)
}
