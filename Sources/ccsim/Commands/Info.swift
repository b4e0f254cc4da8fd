import ArgumentParser
import CrossClass

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Versions, the commit ccsim was built from, and the BLAS library in use.")

    func run() throws {
        print("ccsim \(CrossClassLibrary.version) (commit \(CrossClassLibrary.commit))")
        print("GSL \(GSLInfo.version)")
        print("CBLAS provider: \(GSLInfo.blasProvider)")
    }
}
