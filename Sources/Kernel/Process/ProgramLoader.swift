// Starting the program: read the boot bundle, check the ELF and plan its
// loading (ELFFormat does both, the same code the host CLI runs before
// boot), copy its segments into a fresh address space, build the initial
// stack with argv, envp and the auxiliary vector, and create the first
// thread at the entry point.

import ELFFormat
import HostLink
import LinuxABI

private let log = Logger("loader")

enum ProgramLoader {
  enum Failure: Error {
    case bundle(BootBundleError)
    case noProgram
    case elf(ELFError)
    case stack(InitialStackError)
    case outOfMemory

    var message: String {
      switch self {
      case .bundle(let error): return "bad boot bundle: \(error)"
      case .noProgram:
        return "no program: neither the boot bundle nor the image has it"
      case .elf(let error): return "cannot load the program: \(error.message)"
      case .stack(let error): return "cannot build the stack: \(error.message)"
      case .outOfMemory: return "out of memory while loading the program"
      }
    }
  }

  /// What the bundle says besides the program.
  struct Launch {
    var arguments: [[UInt8]] = []
    var environment: [[UInt8]] = []
    var executablePath: [UInt8] = []
    var standardInput: [UInt8] = []
    var hostname: [UInt8] = Array("villa".utf8)
    var options: [[UInt8]] = []
  }

  static func readLaunch(_ bundle: BootBundleReader) -> Launch {
    var launch = Launch()
    launch.arguments = bundle.payloads(of: .argument).map(bundle.copy)
    launch.environment = bundle.payloads(of: .environment).map(bundle.copy)
    launch.options = bundle.payloads(of: .option).map(bundle.copy)
    if let path = bundle.firstPayload(of: .programPath) {
      launch.executablePath = bundle.copy(path)
    } else if let first = launch.arguments.first {
      launch.executablePath = first
    }
    if let input = bundle.firstPayload(of: .standardInput) {
      launch.standardInput = bundle.copy(input)
    }
    if let name = bundle.firstPayload(of: .hostname) {
      launch.hostname = bundle.copy(name)
    }
    return launch
  }

  /// Loads the program and returns its process with one runnable thread.
  static func load(bundle: BootBundleReader, launch: Launch,
                   imageProgram: UnsafeRawBufferPointer?)
    throws(Failure) -> Process
  {
    // The program comes in the bundle, or from the root filesystem (an
    // image) at the path it is started as.
    let image: UnsafeRawBufferPointer
    if let range = bundle.firstPayload(of: .program) {
      image = UnsafeRawBufferPointer(rebasing: bundle.bytes[range])
    } else if let imageProgram {
      image = imageProgram
    } else {
      throw .noProgram
    }
    let file: ELFFile
    let plan: LoadPlan
    do {
      file = try ELFFile(bytes: image)
      let bias = LoadPlan.loadBias(for: file, base: AddressSpace.pieBase)
      Profiler.loadBias = bias
      plan = try LoadPlan(file: file, loadBias: bias,
                          userLimit: AddressSpace.mmapTop)
    } catch {
      throw .elf(error)
    }

    guard let space = AddressSpace() else { throw .outOfMemory }
    let process = Process(addressSpace: space,
                          workingDirectory: Mounts.root)
    process.executablePath = launch.executablePath
    process.arguments = launch.arguments
    process.environment = launch.environment
    process.hostname = launch.hostname

    for segment in plan.segments {
      var protection: Protection = []
      if segment.protection.contains(.readable) { protection.insert(.read) }
      if segment.protection.contains(.writable) { protection.insert(.write) }
      if segment.protection.contains(.executable) {
        protection.insert(.execute)
      }
      space.map(start: segment.mapStart, end: segment.mapEnd,
                protection: protection, kind: .image)
      guard let bytes = file.fileBytes(of: segment),
        copy(bytes, to: segment.fileStart, in: space)
      else { throw .outOfMemory }
    }
    space.setBreakStart(plan.programBreak)

    // The stack: a region with a guard gap below it (nothing is mapped
    // there, so running off the end is a SIGSEGV, not corruption).
    let stackBottom = AddressSpace.stackTop - AddressSpace.stackSize
    var stackProtection: Protection = [.read, .write]
    if plan.stackExecutable { stackProtection.insert(.execute) }
    space.map(start: stackBottom, end: AddressSpace.stackTop,
              protection: stackProtection, kind: .stack)

    // The vDSO comes first in the vector, as Linux places it.
    guard let vdso = VDSO.map(into: space) else { throw .outOfMemory }
    var auxiliary: [(type: UInt64, value: UInt64)] = [
      (AuxvType.sysinfoEhdr.rawValue, vdso),
    ]
    if let phdr = plan.phdrAddress {
      auxiliary.append((AuxvType.phdr.rawValue, phdr))
    }
    auxiliary += [
      (AuxvType.phent.rawValue, plan.phent),
      (AuxvType.phnum.rawValue, plan.phnum),
      (AuxvType.pagesz.rawValue, 4096),
      (AuxvType.base.rawValue, 0),
      (AuxvType.flags.rawValue, 0),
      (AuxvType.entry.rawValue, plan.entry),
      (AuxvType.uid.rawValue, 0),
      (AuxvType.euid.rawValue, 0),
      (AuxvType.gid.rawValue, 0),
      (AuxvType.egid.rawValue, 0),
      (AuxvType.secure.rawValue, 0),
      (AuxvType.hwcap.rawValue, UInt64(CPUFeatures.hwcap)),
      (AuxvType.hwcap2.rawValue, 0),
      (AuxvType.clktck.rawValue, 100),
    ]
    var random = [UInt8](repeating: 0, count: 16)
    random.withUnsafeMutableBytes { Entropy.fill($0) }
    let stack: InitialStack
    do {
      stack = try InitialStack.build(
        stackTop: AddressSpace.stackTop, arguments: launch.arguments,
        environment: launch.environment, auxiliary: auxiliary,
        random: random, executableName: launch.executablePath,
        platform: Array("x86_64".utf8))
    } catch {
      throw .stack(error)
    }
    let stackImage = stack.bytes
    let copied = stackImage.withUnsafeBytes {
      copy($0, to: AddressSpace.stackTop - UInt64(stackImage.count), in: space)
    }
    guard copied else { throw .outOfMemory }

    let thread = Thread(
      tid: process.newThreadID(), process: process,
      entry: .userEntry(rip: plan.entry, rsp: stack.stackPointer))
    // Linux names the first thread after the executable's file name.
    let baseName = launch.executablePath.split(separator: UInt8(ascii: "/"))
      .last.map(Array.init) ?? []
    thread.name = Array(baseName.prefix(15))
    process.threads.append(thread)
    log.info("loaded: entry \(hex(plan.entry)), \(plan.segments.count) segments"
      + (plan.isPositionIndependent ? ", position-independent" : ""))
    return process
  }

  /// Copies bytes into the address space page by page through the direct
  /// map, backing pages as it goes.
  private static func copy(_ bytes: UnsafeRawBufferPointer, to address: UInt64,
                           in space: AddressSpace) -> Bool
  {
    var done = 0
    while done < bytes.count {
      let target = address + UInt64(done)
      let page = alignDown(target, 4096)
      let offset = Int(target - page)
      let chunk = min(4096 - offset, bytes.count - done)
      guard let pointer = space.kernelPointer(toPage: page) else {
        return false
      }
      (pointer + offset).copyMemory(from: bytes.baseAddress! + done,
                                    byteCount: chunk)
      done += chunk
    }
    return true
  }
}
