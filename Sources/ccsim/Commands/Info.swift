import ArgumentParser
import CrossClass

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Versions and the BLAS library in use.")

    func run() throws {
        print("ccsim \(CrossClassLibrary.version)")
        print("GSL \(GSLInfo.version)")
        print("CBLAS provider: \(GSLInfo.blasProvider)")
    }
}
