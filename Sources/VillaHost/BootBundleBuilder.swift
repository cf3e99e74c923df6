// Packing a run into HostLink's boot bundle, and gathering standard input.
//
// Record order is part of the contract: the program, its path, argv in
// order (argv[0] first, the program as the user named it), the
// environment in order, standard input if any, the host name, then the
// kernel options. The environment holds exactly the `--env` entries:
// nothing from villa's own environment leaks into the VM, so a run is the
// same on every host.
//
// Standard input is read to EOF before boot, because the bundle is the
// only way in. A file or pipe on villa's stdin is read; a terminal or
// /dev/null is not (the program then sees an empty stdin).
// TODO(stdin): input is not streamed, so an endless pipe never boots.

import HostLink

/// The boot bundle for a program and a configuration.
/// Without `includeProgram`, the kernel loads the program from the disk
/// image at its absolute path.
public func makeBootBundle(
  program: ProgramImage, configuration: RunConfiguration,
  includeProgram: Bool = true
) -> [UInt8] {
  var writer = BootBundleWriter()
  if includeProgram { writer.append(.program, program.bytes) }
  writer.append(.programPath, program.absolutePath)
  writer.append(.argument, program.pathAsGiven)
  for argument in configuration.arguments {
    writer.append(.argument, argument)
  }
  for entry in configuration.environment {
    writer.append(.environment, entry)
  }
  if let input = configuration.standardInput {
    writer.append(.standardInput, input)
  }
  writer.append(.hostname, configuration.hostname)
  for option in kernelOptions(for: configuration) {
    writer.append(.option, option)
  }
  return writer.encoded()
}

/// The "key=value" options the kernel receives.
public func kernelOptions(for configuration: RunConfiguration) -> [String] {
  var options: [String] = []
  if let level = configuration.logLevel {
    options.append("log=\(level.rawValue)")
  }
  if let names = configuration.traceSyscalls {
    options.append(names.isEmpty ? "trace" : "trace=" + names.joined(separator: ","))
  }
  options += configuration.kernelOptions
  return options
}

/// Reads villa's own standard input to EOF if it is a regular file, a
/// pipe or a socket; nil for a terminal, a device such as /dev/null, or a
/// closed descriptor.
public func readRedirectedStandardInput() throws(VillaError) -> [UInt8]? {
  switch POSIX.fileKind(of: 0) {
  case .regular, .fifo, .socket:
    do {
      return try POSIX.readToEnd(0)
    } catch {
      throw .hostFailure("cannot read standard input: \(error.message)")
    }
  case .characterDevice, .other, .closed:
    return nil
  }
}
