// The text of `villa --help`, `villa run --help` and `villa --version`.
//
// Kept apart from the parser so the pages read as a whole. The exit
// statuses listed here come from `VillaExitStatus`, so the page cannot
// drift from the code.

public enum VillaHelp {
  public static let version = "0.1.0"

  /// `villa --version`.
  public static var versionText: String {
    "villa \(version)\n"
  }

  /// `villa --help` and `villa help`.
  public static var general: String {
    """
    villa - run a static Linux x86_64 program in its own unikernel VM

    Usage:
      villa run [OPTIONS] [PROGRAM [ARGS...]]
      villa trace-diff [OPTIONS] PROGRAM [ARGS...]
      villa profile-svg FOLDED -o OUT.svg [--title TEXT] [--width PIXELS]
      villa help [run]
      villa --version

    Commands:
      run       Boot the Villa kernel in QEMU and run PROGRAM as its only
                process; with no PROGRAM, run a small bundled demo.
      trace-diff
                Run PROGRAM under strace on the host and traced in Villa,
                and show the first system call where the two differ
                (exit 0 when they agree, 1 when they differ). Takes the
                run options.
      profile-svg
                Draw a flame graph of folded stacks (from 'villa run
                --profile', or any tool that writes that format) as SVG.
      help      Show this page, or 'villa help run' for the run options.

    The program's stdout and stderr arrive on villa's stdout and stderr,
    and villa exits with the program's exit status.

    \(exitStatusSection)
    Example:
      villa run /bin/busybox echo hello
    """
  }

  /// `villa run --help` and `villa help run`.
  public static var run: String {
    """
    Usage: villa run [OPTIONS] [PROGRAM [ARGS...]]
           villa run [OPTIONS] PROGRAM -- ARGS...

    Boots the Villa kernel in QEMU and runs PROGRAM, a static x86_64 Linux
    ELF on the host, inside it; ARGS follow argv[0] (PROGRAM as given). A
    PROGRAM without '/' is searched for in PATH. Options go before PROGRAM;
    everything after it belongs to the program. If villa's stdin is a file
    or a pipe, it is read to EOF and becomes the program's stdin.
    With no PROGRAM, villa builds (cc -static) and runs its demo program.

    Options:
      --env KEY=VALUE      Add to the program's environment (repeatable);
                           the environment holds only what --env gives
      --memory SIZE        Guest memory: MiB, or 512M, 1G (default 256M,
                           at least 16M)
      --accel MODE         tcg, kvm or auto (default auto: KVM only on a
                           host with VT-x/AMD-V and a usable /dev/kvm)
      --machine TYPE       microvm (default, boots fastest) or q35
      --kernel PATH        Kernel ELF to boot (default $VILLA_KERNEL, else
                           .build-kernel/x86_64-unknown-none-elf/release/villa-kernel
                           in the package)
      --kernel-log         Show the kernel's log on stderr ("kernel: ...")
      --log-level LEVEL    Kernel log level: error, warn, info, debug, trace
      --hostname NAME      Host name the program sees (default villa)
      --timeout SECONDS    Stop the VM after SECONDS and exit with 124
      --image IMAGE        Boot a disk image made by 'villa image build';
                           its filesystem is the root and lasts
      --read-only          Mount the image read-only (writes give EROFS)
      --manifest FILE      Take program, args, env, files, memory... from a
                           JSON manifest (see the README); one that ships
                           files boots a cached image of them, and each
                           run starts from it afresh
      --stats              After the program, print the kernel's counters
                           and a table of system calls (like strace -c);
                           SIGUSR1 to villa prints them while it runs
      --stats-json FILE    Write the same figures to FILE as JSON
      --profile FILE       Sample where the program spends its time; write
                           folded stacks to FILE (for flamegraph.pl,
                           speedscope or 'villa profile-svg') and print the
                           top functions after the program
      --profile-frequency HZ
                           Samples per second for --profile (default 997)
      --trace[=NAMES]      Trace system calls on stderr, strace-style;
                           NAMES limits it (e.g. --trace=openat,read)
      -p, --publish [ADDR:]HOST:GUEST[/udp]
                           Forward host port HOST (on ADDR, default every
                           address) to guest port GUEST, TCP unless /udp;
                           -p PORT forwards PORT to itself (repeatable)
      --qemu-arg ARG       Pass ARG to QEMU as is (repeatable)
      -h, --help           Show this help

    Environment:
      VILLA_KERNEL         Kernel ELF, when --kernel is not given
      VILLA_QEMU           QEMU binary (default qemu-system-x86_64)

    Network:
      The guest has QEMU's user network: address 10.0.2.15 by DHCP,
      gateway 10.0.2.2 (the host), DNS 10.0.2.3. Outbound connections
      work; inbound ones need -p.

    \(exitStatusSection)
    Examples:
      villa run /bin/busybox echo hello
      villa run --env HOME=/ --memory 512M ./myprog -- --its-flag
      echo data | villa run --timeout 10 /bin/busybox wc -c
      villa run -p 8080 -p 5353:53/udp ./server
    """
  }

  static var exitStatusSection: String {
    func line(_ status: VillaExitStatus, _ text: String) -> String {
      let number = String(status.rawValue)
      let padded = number + String(repeating: " ", count: 6 - number.count)
      return "  \(padded)\(text)\n"
    }
    return "Exit status:\n"
      + "  N     the program's exit status\n"
      + "  128+N the program was killed by signal N\n"
      + line(.usage, "bad command line")
      + line(.kernelMissing, "kernel not built (run tools/build-kernel.sh)")
      + line(.kernelPanic, "kernel panic")
      + line(.timedOut, "--timeout expired")
      + line(.failed, "QEMU or villa failed")
      + line(.cannotExecute, "PROGRAM is not a static x86_64 Linux ELF")
      + line(.notFound, "PROGRAM not found or unreadable")
  }
}
