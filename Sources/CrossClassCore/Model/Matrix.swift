/// A dense row-major matrix of Doubles. A value type: copies are cheap until written.
public struct Matrix: Equatable, Sendable, Codable {
    public private(set) var rows: Int
    public private(set) var columns: Int
    public var storage: [Double]

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0)
        self.rows = rows
        self.columns = columns
        self.storage = [Double](repeating: value, count: rows * columns)
    }

    public init(rows: Int, columns: Int, storage: [Double]) {
        precondition(storage.count == rows * columns, "storage does not match the shape")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// From nested rows; every row must have the same length.
    public init(_ nested: [[Double]]) {
        let r = nested.count
        let c = nested.first?.count ?? 0
        precondition(nested.allSatisfy { $0.count == c }, "ragged rows")
        self.init(rows: r, columns: c, storage: nested.flatMap { $0 })
    }

    @inline(__always)
    public subscript(_ i: Int, _ j: Int) -> Double {
        get { storage[i * columns + j] }
        set { storage[i * columns + j] = newValue }
    }

    public func row(_ i: Int) -> ArraySlice<Double> {
        storage[(i * columns)..<((i + 1) * columns)]
    }

    public var nested: [[Double]] { (0..<rows).map { Array(row($0)) } }

    public func scaled(by c: Double) -> Matrix {
        Matrix(rows: rows, columns: columns, storage: storage.map { $0 * c })
    }

    public var frobeniusNormSquared: Double { storage.reduce(0) { $0 + $1 * $1 } }

    enum CodingKeys: String, CodingKey { case rows, columns, data }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let data = try c.decode([[Double]].self, forKey: .data)
        self.init(data)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rows, forKey: .rows)
        try c.encode(columns, forKey: .columns)
        try c.encode(nested, forKey: .data)
    }
}
