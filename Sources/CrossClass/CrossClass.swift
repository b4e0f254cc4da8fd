/// ccsim's library. Everything numerical lives in CrossClassCore, re-exported here, so users
/// (the `ccsim` commands, the tests, the benchmarks) import one module: `import CrossClass`.
@_exported import CrossClassCore
