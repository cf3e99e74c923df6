// docs/syscalls.md: every x86_64 system call, its status in Villa, and
// the conformance programs that make it. The statuses come from the
// kernel itself (booted with the "list-syscalls" option, it prints its
// dispatch table), and the programs' calls from strace on the host, so
// the document is generated from the code and cannot drift from it; a
// test regenerates it and fails when the checked-in copy differs.

import LinuxABI

public enum SyscallStatus: Equatable, Sendable {
  case implemented
  case partial(String)
  case absent

  /// Parses a kernel "@syscall NUMBER NAME STATUS" line.
  public static func parse(_ line: String)
    -> (number: Int, name: String, status: SyscallStatus)?
  {
    let parts = line.split(separator: " ", maxSplits: 3,
                           omittingEmptySubsequences: false)
    guard parts.count == 4, parts[0] == "@syscall",
      let number = Int(parts[1])
    else { return nil }
    let text = String(parts[3])
    let status: SyscallStatus
    if text == "implemented" {
      status = .implemented
    } else if text == "absent" {
      status = .absent
    } else if text.hasPrefix("partial: ") {
      status = .partial(String(text.dropFirst(9)))
    } else {
      return nil
    }
    return (number, String(parts[2]), status)
  }
}

public enum SyscallDocument {
  /// The Markdown document.
  /// - Parameters:
  ///   - statuses: the kernel's table, by number.
  ///   - exercisedBy: for each syscall name, the programs that call it.
  public static func render(statuses: [Int: (String, SyscallStatus)],
                            exercisedBy: [String: [String]]) -> String
  {
    var implemented = 0
    var partial = 0
    var absent = 0
    for (_, (_, status)) in statuses {
      switch status {
      case .implemented: implemented += 1
      case .partial: partial += 1
      case .absent: absent += 1
      }
    }
    var lines = [
      "# System calls in Villa",
      "",
      "Generated from the kernel's dispatch table (`villa` boots it with"
        + " the `list-syscalls` option) and from strace runs of the"
        + " conformance programs on the host. Do not edit: run"
        + " `VILLA_UPDATE_DOCS=1 swift test --filter SyscallDocumentTests`.",
      "",
      "\(statuses.count) system calls: \(implemented) implemented,"
        + " \(partial) partial, \(absent) absent (ENOSYS, logged once by"
        + " name).",
      "",
      "| # | name | status | exercised by |",
      "| ---: | --- | --- | --- |",
    ]
    for number in statuses.keys.sorted() {
      let (name, status) = statuses[number]!
      let statusText: String
      switch status {
      case .implemented: statusText = "implemented"
      case .partial(let missing): statusText = "partial: " + missing
      case .absent: statusText = "absent"
      }
      let programs = (exercisedBy[name] ?? []).sorted()
      let shown = programs.prefix(6).joined(separator: ", ")
        + (programs.count > 6 ? ", +\(programs.count - 6) more" : "")
      lines.append("| \(number) | `\(name)` | \(statusText) | \(shown) |")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The syscall names in an strace log (`strace -f -qq -o FILE`). The
  /// log's first line is strace starting the program (execve), which is
  /// not a call the program makes, so it is left out.
  public static func names(inStraceLog text: String) -> Set<String> {
    var names: Set<String> = []
    for line in text.split(separator: "\n").dropFirst() {
      if let call = TraceDiff.parse(String(line)) { names.insert(call.name) }
      // Calls strace shows split ("<unfinished ...>") still count.
      else if line.contains("<unfinished") {
        var text = Substring(line)
        if let first = text.first, first.isNumber {
          text = text.drop { $0.isNumber }.drop { $0 == " " }
        }
        if let open = text.firstIndex(of: "(") {
          names.insert(String(text[..<open]))
        }
      }
    }
    return names
  }
}
