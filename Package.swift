// swift-tools-version:6.2
import PackageDescription

/// Swift settings shared by every non-system target (applied in the loop at the bottom).
let defaultSwiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "fraud-scoring",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fraud-server", targets: ["FraudServer"]),
        .executable(name: "fraud-core-bench", targets: ["FraudCoreBench"]),
        .executable(name: "fraud-loadgen", targets: ["FraudLoadGen"]),
        .executable(name: "fraud-backfill", targets: ["FraudBackfill"]),
        .executable(name: "fraud-ctl", targets: ["FraudCtl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        // C libraries, seen by Swift through module maps (system libraries take no Swift settings).
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // protoc-c output for proto/ (committed; `make proto` regenerates, `make check-proto` diffs).
        .target(name: "CFraudProto", dependencies: ["CProtobufC"]),

        // Cache prefetch hints and transparent-huge-page advice for FraudCore's big tables (a few lines of C).
        .target(name: "CFraudMemory"),
        // sched_setattr for the scoring event loops' time slice (no glibc wrapper; syscall is variadic).
        .target(name: "CFraudSched"),

        // The risk engine: transactions, validation, features, velocity windows, idempotency. No I/O.
        .target(name: "FraudCore", dependencies: ["CFraudMemory"]),
        .testTarget(name: "FraudCoreTests", dependencies: ["FraudCore"]),

        // fraud-core-bench: scores/s of the engine alone (1 thread, all cores), allocations, bytes per account.
        .executableTarget(name: "FraudCoreBench", dependencies: ["FraudCore"]),

        // Swift <-> protobuf-c messages, 5-byte gRPC framing, status codes. Only importer of CFraudProto.
        .target(name: "FraudWire", dependencies: ["CFraudProto", "CProtobufC", "FraudCore"]),
        .testTarget(name: "FraudWireTests", dependencies: ["FraudWire", "FraudCore"]),

        // HTTP/2 through libnghttp2 on swift-nio channels, gRPC call routing. Only importer of CNGHTTP2.
        .target(
            name: "FraudTransport",
            dependencies: [
                "CNGHTTP2", "CFraudSched", "FraudWire", "FraudCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .testTarget(
            name: "FraudTransportTests",
            dependencies: [
                // CNGHTTP2: the elider tests encode and decode header blocks with nghttp2's own HPACK.
                "FraudTransport", "FraudWire", "FraudCore", "CNGHTTP2",
            ]
        ),

        // TLS through OpenSSL (stream BIOs under a NIO handler), server and client ends, ALPN, mutual TLS.
        // Only importer of COpenSSL.
        .target(
            name: "FraudTLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FraudTLSTests",
            dependencies: ["FraudTLS", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),

        // Decisions to a local journal and, asynchronously and batched, to PostgreSQL. Only importer of CLibPQ.
        .target(
            name: "FraudPersistence",
            dependencies: [
                "CLibPQ", "FraudCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "FraudPersistenceTests", dependencies: ["FraudPersistence", "FraudCore"]),

        // The application behind the RPCs: validation, engine, health (later: the decision journal).
        .target(name: "FraudService", dependencies: ["FraudCore", "FraudWire", "FraudTransport", "FraudPersistence"]),

        // gRPC client connections over NIO + H2ClientSession (h2c or TLS, bearer token), PaySim CSV → requests,
        // the security flags both tools share (loadgen, backfill).
        .target(
            name: "FraudClient",
            dependencies: [
                "FraudTransport", "FraudWire", "FraudCore", "FraudTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FraudClientTests",
            dependencies: [
                // FraudTransport, FraudTLS: the TLS tests call an in-process GRPCServer behind a TLSServerHandler.
                "FraudClient", "FraudCore", "FraudTLS", "FraudTransport", "FraudWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // fraud-loadgen: open/closed-loop load with HDR percentiles. Wiring only.
        .executableTarget(
            name: "FraudLoadGen",
            dependencies: [
                "FraudClient", "FraudCore", "FraudTransport", "FraudWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // fraud-backfill: resumable replay of PaySim CSV through ScoreStream. Wiring only.
        .executableTarget(
            name: "FraudBackfill",
            dependencies: [
                "FraudClient", "FraudCore", "FraudWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // Offline model work: PaySim generator, training, evaluation (pure Swift, tested in isolation).
        .target(name: "FraudModel", dependencies: ["FraudCore"]),
        .testTarget(name: "FraudModelTests", dependencies: ["FraudModel", "FraudCore"]),

        // Tokens, users, login throttling and the audit trail. Synchronous and Sendable: verification runs on the
        // event loops. jwt-kit parses and encodes JWTs; swift-crypto signs and verifies (ES256) and hashes passwords (scrypt).
        .target(
            name: "FraudAuth",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "FraudAuthTests", dependencies: ["FraudAuth"]),

        // fraud-ctl: generate / train / evaluate; auth keys, users and tokens. Wiring only.
        .executableTarget(
            name: "FraudCtl",
            dependencies: [
                "FraudModel", "FraudCore", "FraudAuth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The admin HTTP/1.1 port: health, Prometheus metrics, analytics API, OpenAPI, docs, dashboard.
        .target(
            name: "FraudAdmin",
            dependencies: [
                "FraudService", "FraudPersistence", "FraudCore", "FraudTransport", "FraudWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FraudAdminTests",
            dependencies: [
                "FraudAdmin", "FraudPersistence",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // fraud-server: argument parsing, configuration and wiring only.
        .executableTarget(
            name: "FraudServer",
            dependencies: [
                "FraudTransport", "FraudCore", "FraudService", "FraudAdmin", "FraudTLS", "FraudAuth", "FraudWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)

// STANDARD SETTINGS: every Swift target gets the same language mode and upcoming features.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + defaultSwiftSettings
}
