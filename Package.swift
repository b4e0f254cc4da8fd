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
        .target(
            name: "CrossClass",
            dependencies: ["GSL", .product(name: "Yams", package: "Yams")],
            plugins: ["BuildInfo"]
        ),
        // Writes the commit being built into CrossClass (CrossClassLibrary.commit).
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
        // Runs the built `ccsim` binary: exit codes, error lines, output files.
        .testTarget(name: "CLITests", dependencies: ["ccsim", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "CrossClassTests",
            dependencies: [
                "CrossClass", "GSL",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ]
)
