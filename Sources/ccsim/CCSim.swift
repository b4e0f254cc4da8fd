import ArgumentParser
import CrossClass
import GSL
import Foundation

@main
struct CCSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ccsim",
        abstract: "Exact numbers for the cross-class feature theory of adversarial training.",
        discussion: """
            Implements the Gaussian model of Wei, Guo & Wang (ICML 2025), computes robust accuracy \
            exactly, and writes CSV with a JSON manifest. Bad input exits with status 2.
            """,
        version: CrossClassLibrary.version,
        subcommands: [VerifyCommand.self, SweepCommand.self, TrainCommand.self, CompareCommand.self, CompareGridCommand.self, DynamicsGridCommand.self, AttributionCommand.self, SweepW2Command.self, PathCommand.self, PhaseCommand.self, MergeCommand.self, Risk.self, ExportWeightsCommand.self, ObjectiveCommand.self, OptimumCommand.self, ThresholdCommand.self, Table.self, Sample.self, Info.self]
    )

    /// Runs a command with ccsim's error contract: user errors print one line and exit 2;
    /// numerical failures exit 3; help and version exit 0.
    static func main() {
        BLAS.setThreads(1)
        Interruption.install()
        let arguments = Self.joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))
        // The subcommand, for messages (also when validation, inside parsing, fails).
        var commandName = arguments.first.flatMap { NumericalFailure.quantities[$0] != nil ? $0 : nil } ?? ""
        do {
            var command = try parseAsRoot(arguments)
            commandName = type(of: command)._commandName
            try command.run()
        } catch let error as InputError {
            fail(error.message, code: 2)
        } catch let error where error is NumericalError || error is GSLError {
            // Name the quantity and the flag values that led to it, not GSL's status number.
            let words = arguments.first == commandName ? Array(arguments.dropFirst()) : arguments
            fail(NumericalFailure.message(for: error, command: commandName, arguments: words) ?? "\(error)", code: 3)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error)
            let line = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? message
            fail(line + " (see 'ccsim help')", code: 2)
        }
    }

    /// `--eps -0.1` is read as `--eps=-0.1`: a negative number after an option is its value
    /// (ccsim has no flag that looks like a number), so it reaches the option's own check
    /// instead of failing as "missing value".
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--"), !a.contains("="), a != "--", i + 1 < arguments.count,
               arguments[i + 1].hasPrefix("-"), Double(arguments[i + 1]) != nil || arguments[i + 1].hasPrefix("-.") {
                out.append(a + "=" + arguments[i + 1])
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("ccsim: error: \(message)\n".utf8))
        Foundation.exit(code)
    }
}
