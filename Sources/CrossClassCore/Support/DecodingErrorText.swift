import Foundation

/// One line for a failure to decode a file the user gave (a model, weights, a checkpoint), in
/// the file's terms (field path, line and column where the parser gives them), never Swift's
/// type names.
package enum DecodingErrorText {
    package static func oneLine(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.hasPrefix(".") ? String(p.dropFirst()) : p
        }
        func underlying(_ ctx: DecodingError.Context) -> String {
            guard let u = ctx.underlyingError else { return ctx.debugDescription }
            let ns = u as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            return detail
        }
        let text: String
        switch error {
        case DecodingError.typeMismatch(_, let ctx):
            text = "field '\(path(ctx.codingPath))' has the wrong type (\(ctx.debugDescription.replacingOccurrences(of: "Swift.", with: "")))"
        case DecodingError.valueNotFound(_, let ctx):
            text = "field '\(path(ctx.codingPath))' is null or missing"
        case DecodingError.keyNotFound(let key, let ctx):
            let at = path(ctx.codingPath)
            text = "missing field '\(at.isEmpty ? "" : at + ".")\(key.stringValue)'"
        case DecodingError.dataCorrupted(let ctx):
            let at = path(ctx.codingPath)
            text = (at.isEmpty ? "" : "field '\(at)': ") + underlying(ctx)
        default:
            text = String(describing: error)
        }
        return String(text.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(200))
    }
}
