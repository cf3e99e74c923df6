// Leaving the virtual machine. QEMU's isa-debug-exit device ends the VM as
// soon as the kernel writes to its port; the value tells the host whether
// the program ended (its status was already sent as an @exit record) or the
// kernel panicked.

import Arch
import HostLink

enum MachineExit {
  static func programEnded() -> Never {
    leave(MachineContract.debugExitNormal)
  }

  static func kernelPanicked() -> Never {
    leave(MachineContract.debugExitPanic)
  }

  private static func leave(_ value: UInt32) -> Never {
    arch_outl(MachineContract.debugExitPort, value)
    // Without the device (a misconfigured VM), stop the CPU for good.
    while true {
      arch_disable_interrupts()
      arch_wait_for_interrupt()
    }
  }
}
