import Glibc
import Synchronization

/// Counts heap allocations with glibc's own tracer: the process must run with
/// `LD_PRELOAD=libc_malloc_debug.so.0` and `MALLOC_TRACE=<file>` (see ``runAllocationChild``); between
/// `mtrace()` and `muntrace()` glibc logs every malloc (`+`), realloc (`<`/`>`) and free (`-`) to the file.
enum AllocationTrace {
    private typealias Toggle = @convention(c) () -> Void

    /// The trace file, when this process was started for tracing.
    static var path: String? {
        guard let value = getenv("MALLOC_TRACE") else { return nil }
        return String(cString: value)
    }

    /// Allocations (malloc, calloc, memalign, realloc) made by `body`; nil when tracing is unavailable.
    static func count(_ body: () -> Void) -> Int? {
        // libc.so.6 keeps a no-op default-version `mtrace` that dlsym prefers; the real one in the
        // preloaded library is a non-default version, reachable only through dlvsym (a GNU extension
        // the Glibc module does not declare, hence the lookup).
        typealias VersionedLookup =
            @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>, UnsafePointer<CChar>) ->
            UnsafeMutableRawPointer?
        guard
            let path,
            let library = dlopen("libc_malloc_debug.so.0", RTLD_NOW | RTLD_NOLOAD),
            let dlvsym = dlsym(nil, "dlvsym").map({ unsafeBitCast($0, to: VersionedLookup.self) }),
            let start = dlvsym(library, "mtrace", "GLIBC_2.2.5").map({ unsafeBitCast($0, to: Toggle.self) }),
            let stop = dlvsym(library, "muntrace", "GLIBC_2.2.5").map({ unsafeBitCast($0, to: Toggle.self) })
        else { return nil }
        start()  // truncates the file
        body()
        stop()
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var allocations = 0
        var tracing = false
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            if text.hasPrefix("= Start") { tracing = true }
            if tracing, text.hasPrefix("@"), text.contains(" + ") || text.contains(" > ") {
                allocations += 1
            }
        }
        free(line)
        return allocations
    }
}

/// Heap bytes in use: glibc `mallinfo2()` (`uordblks + hblkhd`) on x86_64, resident set size elsewhere.
enum HeapUsage {
    #if arch(x86_64)
    static let method = "glibc mallinfo2() uordblks+hblkhd"
    // mallinfo2 returns a 10 × size_t struct in memory; on x86-64 SysV the caller passes its address in the
    // first argument register and gets it back, so it can be called as (pointer) -> pointer.
    private typealias MallInfo2 = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?
    private static let mallinfo2: MallInfo2? = dlsym(nil, "mallinfo2").map {
        unsafeBitCast($0, to: MallInfo2.self)
    }
    #else
    static let method = "resident set size"
    #endif

    /// Bytes in use now.
    static func bytesInUse() -> Int {
        #if arch(x86_64)
        if let mallinfo2 {
            var fields = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &fields) { _ = mallinfo2($0.baseAddress!) }
            return fields.7 + fields.4  // uordblks + hblkhd
        }
        #endif
        return residentBytes()
    }

    private static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard
            withUnsafeMutablePointer(
                to: &size,
                { s in
                    withUnsafeMutablePointer(to: &resident) { r in
                        withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
                    }
                }
            ) == 2
        else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
