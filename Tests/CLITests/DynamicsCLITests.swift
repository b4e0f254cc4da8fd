import Foundation
import Testing

/// compare --n-train / --trajectory-out, compare-grid --seeds and dynamics-grid, with tiny budgets.
@Suite("CLI: judged dynamics")
struct DynamicsCLITests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("compare --n-train judges the trajectory against the empirical optimum and writes it as CSV + manifest")
    func compareFiniteSample() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("trajectory.csv").path
        let args = ["compare", "--eps", "0.1", "--noise-dims", "2", "--n-train", "8", "--seeds", "2", "--epochs", "8", "--batch", "12",
                    "--pgd-steps", "3", "--cas-samples", "0", "--trajectory-out", out, "--json"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let o = try Self.json(r.stdout)
        #expect((o["trajectory"] as? [[String: Any]])?.count == 8)
        #expect(o["trajectory_within_tolerance"] is Bool && o["robust_overfitting"] is Bool)
        #expect((o["n_train"] as? Double) == 8 && (o["noise_dims"] as? Double) == 2)
        let best = try #require(o["best_test_robust_accuracy"] as? Double), last = try #require(o["last_test_robust_accuracy"] as? Double)
        #expect(best >= last)
        let csv = try String(contentsOfFile: out, encoding: .utf8)
        #expect(csv.hasPrefix("epoch,scale,ratio,empirical_ratio_at_scale,band_low,band_high,inside,test_robust_acc"))
        #expect(csv.split(separator: "\n").count == 9)
        let manifest = try Self.json(try String(contentsOfFile: dir.appendingPathComponent("trajectory.manifest.json").path, encoding: .utf8))
        let config = try #require(manifest["configuration"] as? [String: Any])
        #expect(config["robust_overfitting"] is Bool && config["trajectory_within_tolerance"] is Bool)
        // Same seeds, same bytes.
        let again = dir.appendingPathComponent("again.csv").path
        let r2 = try CLI.run(args.map { $0 == out ? again : $0 })
        #expect(r2.status == 0)
        #expect(try String(contentsOfFile: again, encoding: .utf8) == csv)
    }

    @Test("compare --n-train refuses one seed, objectives without an exact empirical form and l2 ce, with exit 2 and no output")
    func compareFiniteSampleRefusals() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("t.csv").path
        for extra in [["--seeds", "1"], ["--objective", "ls:0.1"], ["--norm", "l2"]] {
            let r = try CLI.run(["compare", "--eps", "0.1", "--n-train", "8", "--epochs", "8", "--trajectory-out", out] + extra)
            #expect(r.status == 2, "\(extra): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("--n-train"), "\(extra): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("compare-grid --seeds writes one judged row per grid point")
    func judgedGrid() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("grid.csv").path
        let r = try CLI.run(["compare-grid", "--eps", "0.1,0.4", "--objectives", "hinge:1@wd=0.05", "--seeds", "2", "--epochs", "8",
                             "--steps-per-epoch", "3", "--batch", "32", "--pgd-steps", "3", "--cas-samples", "0", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "eps,objective,weight_decay,seeds,epochs,final_scale,final_ratio,final_exact_ratio_at_scale,fraction_inside,within_tolerance,cas_checks,cas_check_fraction_inside,cas_check_within_tolerance")
        #expect(lines.dropFirst().allSatisfy { $0.contains(",2,8,") })
    }

    @Test("dynamics-grid trains the two-layer grid, writes per-epoch rows and a verdict table")
    func dynamicsGrid() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("dyn.csv").path
        let r = try CLI.run(["dynamics-grid", "--eps", "0.2", "--objectives", "ce,kd", "--seeds", "2", "--epochs", "3", "--n-train", "6",
                             "--n-test", "10", "--width", "4", "--teacher-epochs", "1", "--noise-dims", "2", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 1 + 2 * 2 * 3)
        #expect(rows[0].hasPrefix("eps,noise_dims,n_train,width,objective,seed,epoch,weight_norm,train_robust_loss"))
        #expect(rows[0].hasSuffix("cas_natural,cas_natural_centred,mean_cross_similarity_natural,mean_cross_similarity_natural_centred"))
        let verdict = try String(contentsOfFile: dir.appendingPathComponent("dyn_verdict.csv").path, encoding: .utf8).split(separator: "\n")
        // 2 objectives x (adversarial, natural) x (raw, centred).
        #expect(verdict.count == 1 + 2 * 4)
        #expect(verdict[0].hasSuffix("robust_overfitting,claim_holds"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("dyn_verdict.manifest.json").path))
        #expect(r.stdout.contains("claim"))
        // hinge is not a two-layer objective here.
        let bad = try CLI.run(["dynamics-grid", "--objectives", "hinge:1", "--epochs", "2", "--out", dir.appendingPathComponent("x.csv").path])
        #expect(bad.status == 2 && bad.stderr.contains("hinge"))
    }

    @Test("dynamics-grid axes: noise dims, n and width as comma lists, sharded and resumed to the same bytes; manifests record the axes")
    func dynamicsGridAxes() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("axes.csv").path
        let args = ["dynamics-grid", "--eps", "0.2", "--objectives", "ce", "--seeds", "1", "--epochs", "2", "--n-train", "4,6",
                    "--n-test", "8", "--width", "3,5", "--noise-dims-grid", "0,2", "--pgd-steps", "2", "--eval-pgd-steps", "2"]
        let r = try CLI.run(args + ["--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 2 * 2 * 2 * 2)
        // Grid order: noise dims, then n, then width (each run: 2 epochs).
        #expect(rows.map { "\($0[1])/\($0[2])/\($0[3])" } == ["0/4/3", "0/4/3", "0/4/5", "0/4/5", "0/6/3", "0/6/3", "0/6/5", "0/6/5",
                                                               "2/4/3", "2/4/3", "2/4/5", "2/4/5", "2/6/3", "2/6/3", "2/6/5", "2/6/5"])
        let verdict = try String(contentsOfFile: dir.appendingPathComponent("axes_verdict.csv").path, encoding: .utf8).split(separator: "\n")
        #expect(verdict.count == 1 + 8 * 4)
        let manifest = try Self.json(try String(contentsOfFile: dir.appendingPathComponent("axes.manifest.json").path, encoding: .utf8))
        let config = try #require(manifest["configuration"] as? [String: Any])
        #expect((config["noise_dims"] as? [Double]) == [0, 2] && (config["n_train"] as? [Double]) == [4, 6] && (config["width"] as? [Double]) == [3, 5])
        // Two shards merged give the same rows.
        var merged: [String] = []
        for shard in ["0/2", "1/2"] {
            let part = dir.appendingPathComponent("part\(shard.first!).csv").path
            let p = try CLI.run(args + ["--shard", shard, "--out", part])
            #expect(p.status == 0, "\(p.stderr)")
            // A shard's rows carry the grid item's index first (for merge).
            merged += try String(contentsOfFile: part, encoding: .utf8).split(separator: "\n").dropFirst()
                .map { String($0.split(separator: ",", maxSplits: 1)[1]) }
        }
        #expect(merged.sorted() == text.split(separator: "\n").dropFirst().map(String.init).sorted())
        // Bad axis values: one line, exit 2.
        for bad in [["--width", "3,3"], ["--n-train", "4,x"], ["--noise-dims-grid", "1", "--noise-dims", "2"]] {
            let b = try CLI.run(["dynamics-grid", "--epochs", "2", "--out", dir.appendingPathComponent("bad.csv").path] + bad)
            #expect(b.status == 2 && b.stderr.split(separator: "\n").count == 1, "\(bad): \(b.stderr)")
        }
    }
}
