import Foundation

extension Checkpoint {
    /// The trained linear model as a classifier (for exact risk and objectives); a two-layer
    /// checkpoint has no exact counterpart and is refused.
    public func linearClassifier(final: Bool = true) throws -> LinearClassifier {
        guard let c = (final ? network : bestNetwork ?? network).linearClassifier else {
            throw InputError("checkpoint holds a \(network.architecture.rawValue) network; only linear models have exact robust quantities")
        }
        return c
    }

    /// The weights file format `--weights` reads: {"weights": [[...]], "bias": [...]}.
    public func exportedWeights(final: Bool = true) throws -> Data {
        let c = try linearClassifier(final: final)
        var object: [String: JSONValue] = ["weights": .array(c.weights.nested.map { JSONValue($0) })]
        if let b = c.bias { object["bias"] = JSONValue(b) }
        object["source"] = .string("ccsim checkpoint, epoch \(final ? epoch : bestEpoch ?? epoch) (\(final ? "last" : "best"))")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        var data = try encoder.encode(JSONValue.object(object))
        data.append(0x0A)
        return data
    }
}
