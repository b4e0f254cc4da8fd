// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ccsim",
    products: [
        .library(name: "CrossClass", targets: ["CrossClass"]),
        .executable(name: "ccsim", targets: ["ccsim"]),
        .executable(name: "ccsim-bench", targets: ["ccsim-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // The C library: headers from libgsl-dev; GSL's CBLAS calls resolve to OpenBLAS
        // (see Sources/CGSL/module.modulemap).
        .systemLibrary(
            name: "CGSL",
            providers: [.apt(["libgsl-dev", "libopenblas-dev"])]
        ),
        // The only Swift code that touches GSL's C API.
        .target(name: "GSL", dependencies: ["CGSL"]),
        // The numerical core: models, exact solvers, training, metrics, output. It does not
        // depend on Yams, so it compiles on one core while Yams compiles on the other (its
        // whole-module optimiser is single-threaded; this is the build's critical path).
        .target(
            name: "CrossClassCore",
            dependencies: ["GSL"],
            plugins: ["BuildInfo"]
        ),
        // The library's public face: re-exports CrossClassCore and adds what needs more than
        // the core (model files, which need Yams) and the recipes the commands call.
        .target(
            name: "CrossClass",
            dependencies: ["CrossClassCore", .product(name: "Yams", package: "Yams")]
        ),
        // Writes the commit being built into CrossClassCore (CrossClassLibrary.commit).
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .executableTarget(
            name: "ccsim",
            dependencies: [
                "CrossClass",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // bench/run's timed workloads (thin: timing + calls into the library).
        .executableTarget(
            name: "ccsim-bench",
            dependencies: [
                "CrossClass", "GSL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/ccsim-bench"
        ),
        .testTarget(name: "GSLTests", dependencies: ["GSL"]),
        // Runs the built `ccsim` binary: exit codes, error lines, output files. `swift test` and
        // `swift build --build-tests` build every target, the binary included, so the tests need
        // no target dependency on `ccsim`; without one they compile while the library does.
        .testTarget(
            name: "CLITests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            // Its code starts ccsim processes and reads their output (the computing happens in
            // the optimised binary); at -O it cost 25-31 s of compile CPU, at -Onone about 10 s.
            swiftSettings: [.unsafeFlags(["-Onone"])]
        ),
        // Fixtures, Monte Carlo cross-checks and `expectClose`, shared by the library's tests.
        .target(
            name: "TestSupport",
            dependencies: ["CrossClassCore", "GSL"],
            path: "Tests/TestSupport"
        ),
        // The library's tests mirror its two modules. Those of the core need only the core, so
        // they compile beside the public face (CrossClass), not after it.
        .testTarget(
            name: "CrossClassCoreTests",
            dependencies: [
                "CrossClassCore", "GSL", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "CrossClassTests",
            dependencies: ["CrossClass", "GSL", "TestSupport"]
        ),
    ]
)
