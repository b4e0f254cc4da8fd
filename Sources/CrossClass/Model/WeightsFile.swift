import Foundation

// Reading a weights file lives beside the model files: a JSON syntax error is located with the
// YAML parser (JSON is YAML), which the core does not depend on.
extension LinearClassifier {
    /// Loads {"weights": [[...], ...], "bias": [...]} (bias optional) from a JSON file.
    public static func load(path: String) throws -> LinearClassifier {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError("weights file '\(path)' does not exist or cannot be read")
        }
        struct File: Decodable { var weights: [[Double]]; var bias: [Double]? }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            let reason = ModelFile.jsonSyntaxError(String(decoding: data, as: UTF8.self)) ?? DecodingErrorText.oneLine(error)
            throw InputError("weights file '\(path)': malformed (\(reason)); expected {\"weights\": [[...], ...], \"bias\": [...]}")
        }
        guard !file.weights.isEmpty, let c = file.weights.first?.count, c > 0,
              file.weights.allSatisfy({ $0.count == c })
        else {
            throw InputError("weights file '\(path)': 'weights' must be a non-empty rectangular list of rows")
        }
        if let b = file.bias, b.count != file.weights.count {
            throw InputError("weights file '\(path)': bias has \(b.count) entries; it must have one per class (\(file.weights.count))")
        }
        return LinearClassifier(weights: Matrix(file.weights), bias: file.bias)
    }
}
