import CrossClassCore
import Foundation
import TestSupport
import Testing

@Suite("Output")
struct OutputTests {
    @Test("grids: ranges include the stop, lists, and clear errors")
    func grids() throws {
        #expect(try Grid.parse("0:0.49:0.01", name: "--eps").values.count == 50)
        #expect(try Grid.parse("0:0.3:0.1", name: "--eps").values == [0, 0.1, 0.2, 0.3])
        #expect(try Grid.parse("0.1, 0.2,0.35", name: "--eps").values == [0.1, 0.2, 0.35])
        #expect(try Grid.parse("0.25", name: "--eps").values == [0.25])
        for bad in ["", "0:1", "0:1:0", "1:0:0.1", "a,b", "0:1:-1", "nan", "0:inf:1", "1,,2", "0:1e9:1e-9"] {
            #expect(throws: InputError.self, "\(bad)") { try Grid.parse(bad, name: "--eps") }
        }
    }

    @Test("CSV round trip with quoting")
    func csv() throws {
        var t = CSVTable(header: ["a", "b,c"])
        t.append([.double(0.1), .string("x\"y")])
        t.append([.int(3), .string("line\nbreak")])
        let parsed = try CSVTable.parse(t.text)
        #expect(parsed == t)
        #expect(t.text.hasPrefix("a,\"b,c\"\n0.1,\"x\"\"y\"\n"))
    }

    @Test("atomic write leaves no temporary file and replaces the old content")
    func atomic() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ccsim-atomic-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.csv").path
        try AtomicFile.write("one\n", to: path)
        try AtomicFile.write("two\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.csv"])
        #expect(throws: InputError.self) { try AtomicFile.write("x", to: "/nonexistent-dir/x.csv") }
    }

    @Test("grid summary: an optimum on the face w1 = 0 (empty ratio) is the peak of w2/w1, printed as w1 = 0; w2 = 0 rows give the crossing")
    func summaryOfTheExclusiveFace() throws {
        var table = CSVTable(header: ["eps", "objective", "w1", "w2", "ratio", "converged"])
        for row in [["0.1", "ce", "1", "2", "2", "true"], ["0.2", "ce", "0", "3", "", "true"], ["0.3", "ce", "0", "2", "", "false"],
                    ["0.1", "ls", "1", "0.5", "0.5", "true"], ["0.2", "ls", "1", "0", "0", "true"]] {
            table.append(rawRow: row)
        }
        let lines = GridSummary(table: table).text.split(separator: "\n").map(String.init)
        let ce = try #require(lines.first { $0.hasPrefix("ce") }), ls = try #require(lines.first { $0.hasPrefix("ls") })
        #expect(ce.contains("0.2 (w1 = 0)") && ce.hasSuffix("1"), "\(ce)")
        #expect(ls.contains("0.2 ") && ls.contains("0.1 (0.5") && ls.hasSuffix("0"), "\(ls)")
    }
}
