// The manifest's JSON: every documented field read as documented,
// relative host paths resolved against the manifest's folder, and
// unknown fields or wrong types refused with the field's name.

import Foundation
import VillaHost
import XCTest

final class ManifestTests: XCTestCase {
  private func parse(_ json: String) throws(VillaError) -> Manifest {
    try Manifest.parse(Data(json.utf8), relativeTo: "/apps/web")
  }

  func testEveryFieldIsRead() throws {
    let manifest = try parse("""
      {"program": "/bin/busybox", "args": ["httpd", "-f", "-p", "8080"],
       "env": {"KEY": "VALUE", "A": "b"},
       "files": {"/etc/app.conf": "./app.conf"},
       "dirs": {"/www": "public", "/abs": "/srv/x"}, "memory": "64M",
       "hostname": "web1", "ports": ["8080", "9000:9000/udp"],
       "tmpfs": {"/tmp": "16M"}}
      """)
    XCTAssertEqual(manifest.program, "/bin/busybox")
    XCTAssertEqual(manifest.arguments, ["httpd", "-f", "-p", "8080"])
    XCTAssertEqual(manifest.environment, ["A=b", "KEY=VALUE"])
    XCTAssertEqual(manifest.files.map { $0.0 }, ["/etc/app.conf"])
    XCTAssertEqual(manifest.files.map { $0.1 }, ["/apps/web/./app.conf"])
    XCTAssertEqual(manifest.directories.map { $0.1 },
                   ["/srv/x", "/apps/web/public"])
    XCTAssertEqual(manifest.memoryMiB, 64)
    XCTAssertEqual(manifest.hostname, "web1")
    XCTAssertEqual(manifest.ports, ["8080", "9000:9000/udp"])
    XCTAssertEqual(manifest.tmpSize, 16 << 20)
  }

  func testRelativeProgramIsResolved() throws {
    XCTAssertEqual(try parse(#"{"program": "./server"}"#).program,
                   "/apps/web/./server")
    // A bare name is looked up in PATH later, as on the command line.
    XCTAssertEqual(try parse(#"{"program": "busybox"}"#).program, "busybox")
  }

  func testMistakesNameTheField() {
    let cases: [(String, String)] = [
      (#"{"bogus": 1}"#, "\"bogus\""),
      (#"{"args": "x"}"#, "\"args\""),
      (#"{"env": {"K": 1}}"#, "\"env\""),
      (#"{"files": {"relative": "x"}}"#, "\"files\""),
      (#"{"memory": 64}"#, "\"memory\""),
      (#"{"ports": [8080]}"#, "\"ports\""),
      (#"{"tmpfs": {"/var": "1M"}}"#, "\"tmpfs\""),
      ("[1, 2]", "not a JSON object"),
    ]
    for (json, expected) in cases {
      do throws(VillaError) {
        _ = try parse(json)
        XCTFail("accepted \(json)")
      } catch {
        XCTAssertTrue(error.message.contains(expected),
                      "\(json): \(error.message)")
      }
    }
  }
}
