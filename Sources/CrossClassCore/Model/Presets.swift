extension DataModel {
    /// The paper's model: complement(3), features (E1, E2, E3, C1, C2, C3).
    public static func paper3(mu: Double = 1, sigma: Double = 0.5, tau: Double = 0) throws -> DataModel {
        var m = try complement(classes: 3, mu: mu, sigma: sigma, tau: tau)
        m.name = "paper3"
        return m
    }

    /// K exclusive features E1..EK, then K cross-class features C1..CK where Cj is carried by
    /// every class except j. complement(3) is the paper's model.
    public static func complement(
        classes k: Int, mu: Double = 1, sigma: Double = 0.5, tau: Double = 0
    ) throws -> DataModel {
        guard k >= 3 else {
            throw InputError("complement(\(k)) is not allowed: K must be >= 3 (with K = 2 every feature is exclusive)")
        }
        guard k <= 100 else { throw InputError("complement(\(k)) is not allowed: K must be <= 100") }
        // Typed step by step: the one-expression form took the type checker 0.5 s.
        let membership: [[Bool]] = (0..<k).map { (y: Int) -> [Bool] in
            let exclusive: [Bool] = (0..<k).map { $0 == y }
            let cross: [Bool] = (0..<k).map { $0 != y }
            return exclusive + cross
        }
        let names = (1...k).map { "E\($0)" } + (1...k).map { "C\($0)" }
        return try DataModel(
            name: "complement(\(k))", membership: membership,
            mu: .init(repeating: mu, count: 2 * k), sigma: .init(repeating: sigma, count: 2 * k),
            tau: tau, featureNames: names)
    }

    /// K exclusive features E1..EK, then one feature P_ij for each pair i < j (lexicographic),
    /// carried by exactly classes i and j.
    public static func pairwise(
        classes k: Int, mu: Double = 1, sigma: Double = 0.5, tau: Double = 0
    ) throws -> DataModel {
        guard k >= 3 else {
            throw InputError("pairwise(\(k)) is not allowed: K must be >= 3")
        }
        guard k <= 60 else { throw InputError("pairwise(\(k)) is not allowed: K must be <= 60") }
        var pairs: [(Int, Int)] = []
        for i in 0..<k { for j in (i + 1)..<k { pairs.append((i, j)) } }
        // Typed step by step: the one-expression form took the type checker 2.6 s.
        let membership: [[Bool]] = (0..<k).map { (y: Int) -> [Bool] in
            let exclusive: [Bool] = (0..<k).map { $0 == y }
            let shared: [Bool] = pairs.map { (pair: (Int, Int)) -> Bool in pair.0 == y || pair.1 == y }
            return exclusive + shared
        }
        let names = (1...k).map { "E\($0)" } + pairs.map { "P\($0.0 + 1)_\($0.1 + 1)" }
        let f = k + pairs.count
        return try DataModel(
            name: "pairwise(\(k))", membership: membership,
            mu: .init(repeating: mu, count: f), sigma: .init(repeating: sigma, count: f),
            tau: tau, featureNames: names)
    }
}
