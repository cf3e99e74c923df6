// swift-tools-version: 6.1
//
// Villa is one package that holds two worlds. Built plainly (`swift build`,
// `swift test`) it produces the host side: the `villa` command-line tool,
// the shared pure-Swift modules and their tests. Built with the `Kernel`
// trait for the bare-metal triple it produces the kernel ELF instead:
//
//   swift build --triple x86_64-unknown-none-elf --traits Kernel \
//       --product villa-kernel -c release
//
// tools/build-kernel.sh wraps that command, and sets VILLA_KERNEL_BUILD=1:
// only then does the manifest declare the kernel's targets at all, so that
// plain `swift build` and `swift test` never try to compile the kernel for
// the host.

import PackageDescription

let buildingKernel = Context.environment["VILLA_KERNEL_BUILD"] == "1"

/// Settings that turn a Swift target into Embedded Swift for bare metal.
let kernelSwift: [SwiftSetting] = [
  .enableExperimentalFeature("Embedded", .when(traits: ["Kernel"])),
  .unsafeFlags([
    "-wmo", "-parse-as-library", "-Osize",
    "-Xcc", "-mno-red-zone", "-Xcc", "-ffreestanding",
    "-Xcc", "-fPIE",
    "-Xfrontend", "-disable-stack-protector",
    "-Xfrontend", "-function-sections",
  ], .when(traits: ["Kernel"])),
]

/// Shared modules compile for both worlds: plain Swift on the host,
/// Embedded Swift inside the kernel.
func shared(_ name: String, dependencies: [Target.Dependency] = [])
  -> Target
{
  .target(name: name, dependencies: dependencies, swiftSettings: kernelSwift)
}

var sharedAndHostTargets: [Target] {
  [
    // Shared, pure Swift: compiled into the kernel and tested on the host.
    shared("LinuxABI"),
    shared("ELFFormat", dependencies: ["LinuxABI"]),
    shared("HostLink"),
    shared("NetStack"),
    shared("VillaFS"),

    // Host side.
    .target(
      name: "VillaHost",
      dependencies: ["LinuxABI", "ELFFormat", "HostLink", "VillaFS"]),
    .executableTarget(name: "villa", dependencies: ["VillaHost"]),

    .testTarget(
      name: "VillaTests",
      dependencies: [
        "LinuxABI", "ELFFormat", "HostLink", "VillaFS", "VillaHost",
        "NetStack",
      ]),
  ]
}

var kernelTargets: [Target] {
  [
    // The machine layer: boot and entry assembly, the linker script, and a
    // C header of inline-assembly helpers (port I/O, MSRs, control
    // registers) that Swift imports.
    .target(
      name: "Arch",
      path: "arch/x86_64",
      // vdso/ is a separate user-mode shared object that
      // tools/build-kernel.sh links first; vdso-image.S embeds it.
      exclude: ["kernel.ld", "vdso"],
      cSettings: [
        .unsafeFlags([
          "-ffreestanding", "-fno-builtin", "-mno-red-zone",
          "-fno-stack-protector", "-fPIE", "-nostdlibinc",
          "-DVILLA_VDSO_PATH=\"\(Context.packageDirectory)"
            + "/.build-kernel/vdso/vdso.so\"",
        ], .when(traits: ["Kernel"])),
      ]),

    // The kernel itself: Embedded Swift, linked into an ELF that QEMU boots.
    .executableTarget(
      name: "Kernel",
      dependencies: [
        "LinuxABI", "ELFFormat", "HostLink", "VillaFS", "NetStack",
        "Arch",
      ],
      swiftSettings: kernelSwift + [.swiftLanguageMode(.v5)],
      linkerSettings: [
        .unsafeFlags([
          "-use-ld=lld", "-Xclang-linker", "-nostdlib",
          "-Xclang-linker", "-static",
          "-Xlinker", "-T", "-Xlinker", "arch/x86_64/kernel.ld",
          "-Xlinker", "--gc-sections", "-Xlinker", "-z",
          "-Xlinker", "max-page-size=4096",
        ], .when(traits: ["Kernel"])),
        .linkedLibrary("swiftUnicodeDataTables", .when(traits: ["Kernel"])),
      ]),
  ]
}

let package = Package(
  name: "Villa",
  products: [
    .executable(name: "villa", targets: ["villa"]),
  ] + (buildingKernel ? [
    .executable(name: "villa-kernel", targets: ["Kernel"]),
  ] : []),
  traits: [
    .trait(
      name: "Kernel",
      description: "Build the kernel for x86_64-unknown-none-elf."),
  ],
  targets: sharedAndHostTargets + (buildingKernel ? kernelTargets : [])
)
