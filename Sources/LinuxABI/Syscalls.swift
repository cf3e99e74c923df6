// The x86_64 Linux system call table: every number the kernel assigns in
// arch/x86/entry/syscalls/syscall_64.tbl as of Linux 6.17, with its name.
//
// Only the "common" and "64" rows belong here. The x32 rows (512 and up)
// are a different ABI that Villa does not offer. The table has one gap:
// 336 through 423 were left unused when new system calls started being
// numbered the same on every architecture (pidfd_send_signal, 424). A few
// numbers name calls that Linux reserves but does not implement (uselib,
// _sysctl, create_module, tuxcall, ...); they keep their names so that a
// trace can say what a program tried, and the kernel answers them with
// ENOSYS like any other call it lacks.
//
// Names are kept exactly as the table spells them. The Swift constants use
// the same words in lowerCamelCase: exit_group is `.exitGroup`,
// rt_sigaction is `.rtSigaction`, pread64 stays `.pread64`. The one
// exception is _sysctl, spelled `.sysctl` because a leading underscore
// marks private API in Swift.

/// A Linux x86_64 system call number, as found in `rax` at `syscall`.
///
/// Any value can be wrapped, so a kernel can carry an unknown number as far
/// as its ENOSYS path; `name` tells whether Linux defines it.
public struct SyscallNumber: RawRepresentable, Hashable, Sendable,
  CustomStringConvertible
{
  public var rawValue: Int

  public init(rawValue: Int) {
    self.rawValue = rawValue
  }

  public init(_ rawValue: Int) {
    self.rawValue = rawValue
  }

  /// The Linux name, such as "exit_group", or nil for a number Linux does
  /// not assign on x86_64.
  public var name: String? {
    SyscallTable.name(of: rawValue)
  }

  /// The Linux name, or "syscall N" for an unassigned number.
  public var description: String {
    name ?? "syscall \(rawValue)"
  }
}

/// Lookups between system call numbers and their Linux names.
public enum SyscallTable {
  /// The highest number assigned on x86_64 in Linux 6.17 (file_setattr).
  public static let highest = sharedBase + sharedNames.count - 1

  /// The Linux name of `number` ("read" for 0), or nil when the number is
  /// negative, past `highest`, or in the unused range 336...423.
  public static func name(of number: Int) -> String? {
    if number >= 0 && number < classicNames.count {
      return classicNames[number]
    }
    // Compare before subtracting, so that no input can overflow.
    if number >= sharedBase && number <= highest {
      return sharedNames[number - sharedBase]
    }
    return nil
  }

  /// The number Linux assigns to the system call spelled `name` exactly as
  /// in syscall_64.tbl ("exit_group", not "exitGroup"), or nil.
  ///
  /// This is a linear search: it serves tools and logs, not the syscall
  /// path, which dispatches on numbers. It compares UTF-8 bytes rather
  /// than Strings, because String equality applies Unicode normalization,
  /// whose tables an Embedded kernel would otherwise have to link.
  public static func number(named name: String) -> Int? {
    let wanted = name.utf8
    if let index = classicNames.firstIndex(where: {
      $0.utf8.elementsEqual(wanted)
    }) {
      return index
    }
    if let index = sharedNames.firstIndex(where: {
      $0.utf8.elementsEqual(wanted)
    }) {
      return sharedBase + index
    }
    return nil
  }

  /// The first number of the range shared by all architectures.
  static let sharedBase = 424

  /// Names of 0 through 335, indexed by number. The comment on each row is
  /// the number of its first name.
  static let classicNames: [String] = [
    /* 0 */ "read", "write", "open", "close", "stat", "fstat", "lstat",
    /* 7 */ "poll", "lseek", "mmap", "mprotect", "munmap", "brk",
    /* 13 */ "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl",
    /* 17 */ "pread64", "pwrite64", "readv", "writev", "access", "pipe",
    /* 23 */ "select", "sched_yield", "mremap", "msync", "mincore", "madvise",
    /* 29 */ "shmget", "shmat", "shmctl", "dup", "dup2", "pause", "nanosleep",
    /* 36 */ "getitimer", "alarm", "setitimer", "getpid", "sendfile",
    /* 41 */ "socket", "connect", "accept", "sendto", "recvfrom", "sendmsg",
    /* 47 */ "recvmsg", "shutdown", "bind", "listen", "getsockname",
    /* 52 */ "getpeername", "socketpair", "setsockopt", "getsockopt", "clone",
    /* 57 */ "fork", "vfork", "execve", "exit", "wait4", "kill", "uname",
    /* 64 */ "semget", "semop", "semctl", "shmdt", "msgget", "msgsnd",
    /* 70 */ "msgrcv", "msgctl", "fcntl", "flock", "fsync", "fdatasync",
    /* 76 */ "truncate", "ftruncate", "getdents", "getcwd", "chdir", "fchdir",
    /* 82 */ "rename", "mkdir", "rmdir", "creat", "link", "unlink", "symlink",
    /* 89 */ "readlink", "chmod", "fchmod", "chown", "fchown", "lchown",
    /* 95 */ "umask", "gettimeofday", "getrlimit", "getrusage", "sysinfo",
    /* 100 */ "times", "ptrace", "getuid", "syslog", "getgid", "setuid",
    /* 106 */ "setgid", "geteuid", "getegid", "setpgid", "getppid", "getpgrp",
    /* 112 */ "setsid", "setreuid", "setregid", "getgroups", "setgroups",
    /* 117 */ "setresuid", "getresuid", "setresgid", "getresgid", "getpgid",
    /* 122 */ "setfsuid", "setfsgid", "getsid", "capget", "capset",
    /* 127 */ "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
    /* 130 */ "rt_sigsuspend", "sigaltstack", "utime", "mknod", "uselib",
    /* 135 */ "personality", "ustat", "statfs", "fstatfs", "sysfs",
    /* 140 */ "getpriority", "setpriority", "sched_setparam",
    /* 143 */ "sched_getparam", "sched_setscheduler", "sched_getscheduler",
    /* 146 */ "sched_get_priority_max", "sched_get_priority_min",
    /* 148 */ "sched_rr_get_interval", "mlock", "munlock", "mlockall",
    /* 152 */ "munlockall", "vhangup", "modify_ldt", "pivot_root", "_sysctl",
    /* 157 */ "prctl", "arch_prctl", "adjtimex", "setrlimit", "chroot",
    /* 162 */ "sync", "acct", "settimeofday", "mount", "umount2", "swapon",
    /* 168 */ "swapoff", "reboot", "sethostname", "setdomainname", "iopl",
    /* 173 */ "ioperm", "create_module", "init_module", "delete_module",
    /* 177 */ "get_kernel_syms", "query_module", "quotactl", "nfsservctl",
    /* 181 */ "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security",
    /* 186 */ "gettid", "readahead", "setxattr", "lsetxattr", "fsetxattr",
    /* 191 */ "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
    /* 196 */ "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    /* 200 */ "tkill", "time", "futex", "sched_setaffinity",
    /* 204 */ "sched_getaffinity", "set_thread_area", "io_setup",
    /* 207 */ "io_destroy", "io_getevents", "io_submit", "io_cancel",
    /* 211 */ "get_thread_area", "lookup_dcookie", "epoll_create",
    /* 214 */ "epoll_ctl_old", "epoll_wait_old", "remap_file_pages",
    /* 217 */ "getdents64", "set_tid_address", "restart_syscall",
    /* 220 */ "semtimedop", "fadvise64", "timer_create", "timer_settime",
    /* 224 */ "timer_gettime", "timer_getoverrun", "timer_delete",
    /* 227 */ "clock_settime", "clock_gettime", "clock_getres",
    /* 230 */ "clock_nanosleep", "exit_group", "epoll_wait", "epoll_ctl",
    /* 234 */ "tgkill", "utimes", "vserver", "mbind", "set_mempolicy",
    /* 239 */ "get_mempolicy", "mq_open", "mq_unlink", "mq_timedsend",
    /* 243 */ "mq_timedreceive", "mq_notify", "mq_getsetattr", "kexec_load",
    /* 247 */ "waitid", "add_key", "request_key", "keyctl", "ioprio_set",
    /* 252 */ "ioprio_get", "inotify_init", "inotify_add_watch",
    /* 255 */ "inotify_rm_watch", "migrate_pages", "openat", "mkdirat",
    /* 259 */ "mknodat", "fchownat", "futimesat", "newfstatat", "unlinkat",
    /* 264 */ "renameat", "linkat", "symlinkat", "readlinkat", "fchmodat",
    /* 269 */ "faccessat", "pselect6", "ppoll", "unshare", "set_robust_list",
    /* 274 */ "get_robust_list", "splice", "tee", "sync_file_range",
    /* 278 */ "vmsplice", "move_pages", "utimensat", "epoll_pwait",
    /* 282 */ "signalfd", "timerfd_create", "eventfd", "fallocate",
    /* 286 */ "timerfd_settime", "timerfd_gettime", "accept4", "signalfd4",
    /* 290 */ "eventfd2", "epoll_create1", "dup3", "pipe2", "inotify_init1",
    /* 295 */ "preadv", "pwritev", "rt_tgsigqueueinfo", "perf_event_open",
    /* 299 */ "recvmmsg", "fanotify_init", "fanotify_mark", "prlimit64",
    /* 303 */ "name_to_handle_at", "open_by_handle_at", "clock_adjtime",
    /* 306 */ "syncfs", "sendmmsg", "setns", "getcpu", "process_vm_readv",
    /* 311 */ "process_vm_writev", "kcmp", "finit_module", "sched_setattr",
    /* 315 */ "sched_getattr", "renameat2", "seccomp", "getrandom",
    /* 319 */ "memfd_create", "kexec_file_load", "bpf", "execveat",
    /* 323 */ "userfaultfd", "membarrier", "mlock2", "copy_file_range",
    /* 327 */ "preadv2", "pwritev2", "pkey_mprotect", "pkey_alloc",
    /* 331 */ "pkey_free", "statx", "io_pgetevents", "rseq", "uretprobe",
  ]

  /// Names of 424 onwards, indexed by number minus `sharedBase`.
  static let sharedNames: [String] = [
    /* 424 */ "pidfd_send_signal", "io_uring_setup", "io_uring_enter",
    /* 427 */ "io_uring_register", "open_tree", "move_mount", "fsopen",
    /* 431 */ "fsconfig", "fsmount", "fspick", "pidfd_open", "clone3",
    /* 436 */ "close_range", "openat2", "pidfd_getfd", "faccessat2",
    /* 440 */ "process_madvise", "epoll_pwait2", "mount_setattr",
    /* 443 */ "quotactl_fd", "landlock_create_ruleset", "landlock_add_rule",
    /* 446 */ "landlock_restrict_self", "memfd_secret", "process_mrelease",
    /* 449 */ "futex_waitv", "set_mempolicy_home_node", "cachestat",
    /* 452 */ "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
    /* 456 */ "futex_requeue", "statmount", "listmount", "lsm_get_self_attr",
    /* 460 */ "lsm_set_self_attr", "lsm_list_modules", "mseal", "setxattrat",
    /* 464 */ "getxattrat", "listxattrat", "removexattrat", "open_tree_attr",
    /* 468 */ "file_getattr", "file_setattr",
  ]
}

extension SyscallNumber {
  // MARK: 0 through 99

  public static let read = SyscallNumber(0)
  public static let write = SyscallNumber(1)
  public static let open = SyscallNumber(2)
  public static let close = SyscallNumber(3)
  public static let stat = SyscallNumber(4)
  public static let fstat = SyscallNumber(5)
  public static let lstat = SyscallNumber(6)
  public static let poll = SyscallNumber(7)
  public static let lseek = SyscallNumber(8)
  public static let mmap = SyscallNumber(9)
  public static let mprotect = SyscallNumber(10)
  public static let munmap = SyscallNumber(11)
  public static let brk = SyscallNumber(12)
  public static let rtSigaction = SyscallNumber(13)
  public static let rtSigprocmask = SyscallNumber(14)
  public static let rtSigreturn = SyscallNumber(15)
  public static let ioctl = SyscallNumber(16)
  public static let pread64 = SyscallNumber(17)
  public static let pwrite64 = SyscallNumber(18)
  public static let readv = SyscallNumber(19)
  public static let writev = SyscallNumber(20)
  public static let access = SyscallNumber(21)
  public static let pipe = SyscallNumber(22)
  public static let select = SyscallNumber(23)
  public static let schedYield = SyscallNumber(24)
  public static let mremap = SyscallNumber(25)
  public static let msync = SyscallNumber(26)
  public static let mincore = SyscallNumber(27)
  public static let madvise = SyscallNumber(28)
  public static let shmget = SyscallNumber(29)
  public static let shmat = SyscallNumber(30)
  public static let shmctl = SyscallNumber(31)
  public static let dup = SyscallNumber(32)
  public static let dup2 = SyscallNumber(33)
  public static let pause = SyscallNumber(34)
  public static let nanosleep = SyscallNumber(35)
  public static let getitimer = SyscallNumber(36)
  public static let alarm = SyscallNumber(37)
  public static let setitimer = SyscallNumber(38)
  public static let getpid = SyscallNumber(39)
  public static let sendfile = SyscallNumber(40)
  public static let socket = SyscallNumber(41)
  public static let connect = SyscallNumber(42)
  public static let accept = SyscallNumber(43)
  public static let sendto = SyscallNumber(44)
  public static let recvfrom = SyscallNumber(45)
  public static let sendmsg = SyscallNumber(46)
  public static let recvmsg = SyscallNumber(47)
  public static let shutdown = SyscallNumber(48)
  public static let bind = SyscallNumber(49)
  public static let listen = SyscallNumber(50)
  public static let getsockname = SyscallNumber(51)
  public static let getpeername = SyscallNumber(52)
  public static let socketpair = SyscallNumber(53)
  public static let setsockopt = SyscallNumber(54)
  public static let getsockopt = SyscallNumber(55)
  public static let clone = SyscallNumber(56)
  public static let fork = SyscallNumber(57)
  public static let vfork = SyscallNumber(58)
  public static let execve = SyscallNumber(59)
  public static let exit = SyscallNumber(60)
  public static let wait4 = SyscallNumber(61)
  public static let kill = SyscallNumber(62)
  public static let uname = SyscallNumber(63)
  public static let semget = SyscallNumber(64)
  public static let semop = SyscallNumber(65)
  public static let semctl = SyscallNumber(66)
  public static let shmdt = SyscallNumber(67)
  public static let msgget = SyscallNumber(68)
  public static let msgsnd = SyscallNumber(69)
  public static let msgrcv = SyscallNumber(70)
  public static let msgctl = SyscallNumber(71)
  public static let fcntl = SyscallNumber(72)
  public static let flock = SyscallNumber(73)
  public static let fsync = SyscallNumber(74)
  public static let fdatasync = SyscallNumber(75)
  public static let truncate = SyscallNumber(76)
  public static let ftruncate = SyscallNumber(77)
  public static let getdents = SyscallNumber(78)
  public static let getcwd = SyscallNumber(79)
  public static let chdir = SyscallNumber(80)
  public static let fchdir = SyscallNumber(81)
  public static let rename = SyscallNumber(82)
  public static let mkdir = SyscallNumber(83)
  public static let rmdir = SyscallNumber(84)
  public static let creat = SyscallNumber(85)
  public static let link = SyscallNumber(86)
  public static let unlink = SyscallNumber(87)
  public static let symlink = SyscallNumber(88)
  public static let readlink = SyscallNumber(89)
  public static let chmod = SyscallNumber(90)
  public static let fchmod = SyscallNumber(91)
  public static let chown = SyscallNumber(92)
  public static let fchown = SyscallNumber(93)
  public static let lchown = SyscallNumber(94)
  public static let umask = SyscallNumber(95)
  public static let gettimeofday = SyscallNumber(96)
  public static let getrlimit = SyscallNumber(97)
  public static let getrusage = SyscallNumber(98)
  public static let sysinfo = SyscallNumber(99)

  // MARK: 100 through 199

  public static let times = SyscallNumber(100)
  public static let ptrace = SyscallNumber(101)
  public static let getuid = SyscallNumber(102)
  public static let syslog = SyscallNumber(103)
  public static let getgid = SyscallNumber(104)
  public static let setuid = SyscallNumber(105)
  public static let setgid = SyscallNumber(106)
  public static let geteuid = SyscallNumber(107)
  public static let getegid = SyscallNumber(108)
  public static let setpgid = SyscallNumber(109)
  public static let getppid = SyscallNumber(110)
  public static let getpgrp = SyscallNumber(111)
  public static let setsid = SyscallNumber(112)
  public static let setreuid = SyscallNumber(113)
  public static let setregid = SyscallNumber(114)
  public static let getgroups = SyscallNumber(115)
  public static let setgroups = SyscallNumber(116)
  public static let setresuid = SyscallNumber(117)
  public static let getresuid = SyscallNumber(118)
  public static let setresgid = SyscallNumber(119)
  public static let getresgid = SyscallNumber(120)
  public static let getpgid = SyscallNumber(121)
  public static let setfsuid = SyscallNumber(122)
  public static let setfsgid = SyscallNumber(123)
  public static let getsid = SyscallNumber(124)
  public static let capget = SyscallNumber(125)
  public static let capset = SyscallNumber(126)
  public static let rtSigpending = SyscallNumber(127)
  public static let rtSigtimedwait = SyscallNumber(128)
  public static let rtSigqueueinfo = SyscallNumber(129)
  public static let rtSigsuspend = SyscallNumber(130)
  public static let sigaltstack = SyscallNumber(131)
  public static let utime = SyscallNumber(132)
  public static let mknod = SyscallNumber(133)
  public static let uselib = SyscallNumber(134)
  public static let personality = SyscallNumber(135)
  public static let ustat = SyscallNumber(136)
  public static let statfs = SyscallNumber(137)
  public static let fstatfs = SyscallNumber(138)
  public static let sysfs = SyscallNumber(139)
  public static let getpriority = SyscallNumber(140)
  public static let setpriority = SyscallNumber(141)
  public static let schedSetparam = SyscallNumber(142)
  public static let schedGetparam = SyscallNumber(143)
  public static let schedSetscheduler = SyscallNumber(144)
  public static let schedGetscheduler = SyscallNumber(145)
  public static let schedGetPriorityMax = SyscallNumber(146)
  public static let schedGetPriorityMin = SyscallNumber(147)
  public static let schedRrGetInterval = SyscallNumber(148)
  public static let mlock = SyscallNumber(149)
  public static let munlock = SyscallNumber(150)
  public static let mlockall = SyscallNumber(151)
  public static let munlockall = SyscallNumber(152)
  public static let vhangup = SyscallNumber(153)
  public static let modifyLdt = SyscallNumber(154)
  public static let pivotRoot = SyscallNumber(155)
  public static let sysctl = SyscallNumber(156)
  public static let prctl = SyscallNumber(157)
  public static let archPrctl = SyscallNumber(158)
  public static let adjtimex = SyscallNumber(159)
  public static let setrlimit = SyscallNumber(160)
  public static let chroot = SyscallNumber(161)
  public static let sync = SyscallNumber(162)
  public static let acct = SyscallNumber(163)
  public static let settimeofday = SyscallNumber(164)
  public static let mount = SyscallNumber(165)
  public static let umount2 = SyscallNumber(166)
  public static let swapon = SyscallNumber(167)
  public static let swapoff = SyscallNumber(168)
  public static let reboot = SyscallNumber(169)
  public static let sethostname = SyscallNumber(170)
  public static let setdomainname = SyscallNumber(171)
  public static let iopl = SyscallNumber(172)
  public static let ioperm = SyscallNumber(173)
  public static let createModule = SyscallNumber(174)
  public static let initModule = SyscallNumber(175)
  public static let deleteModule = SyscallNumber(176)
  public static let getKernelSyms = SyscallNumber(177)
  public static let queryModule = SyscallNumber(178)
  public static let quotactl = SyscallNumber(179)
  public static let nfsservctl = SyscallNumber(180)
  public static let getpmsg = SyscallNumber(181)
  public static let putpmsg = SyscallNumber(182)
  public static let afsSyscall = SyscallNumber(183)
  public static let tuxcall = SyscallNumber(184)
  public static let security = SyscallNumber(185)
  public static let gettid = SyscallNumber(186)
  public static let readahead = SyscallNumber(187)
  public static let setxattr = SyscallNumber(188)
  public static let lsetxattr = SyscallNumber(189)
  public static let fsetxattr = SyscallNumber(190)
  public static let getxattr = SyscallNumber(191)
  public static let lgetxattr = SyscallNumber(192)
  public static let fgetxattr = SyscallNumber(193)
  public static let listxattr = SyscallNumber(194)
  public static let llistxattr = SyscallNumber(195)
  public static let flistxattr = SyscallNumber(196)
  public static let removexattr = SyscallNumber(197)
  public static let lremovexattr = SyscallNumber(198)
  public static let fremovexattr = SyscallNumber(199)

  // MARK: 200 through 299

  public static let tkill = SyscallNumber(200)
  public static let time = SyscallNumber(201)
  public static let futex = SyscallNumber(202)
  public static let schedSetaffinity = SyscallNumber(203)
  public static let schedGetaffinity = SyscallNumber(204)
  public static let setThreadArea = SyscallNumber(205)
  public static let ioSetup = SyscallNumber(206)
  public static let ioDestroy = SyscallNumber(207)
  public static let ioGetevents = SyscallNumber(208)
  public static let ioSubmit = SyscallNumber(209)
  public static let ioCancel = SyscallNumber(210)
  public static let getThreadArea = SyscallNumber(211)
  public static let lookupDcookie = SyscallNumber(212)
  public static let epollCreate = SyscallNumber(213)
  public static let epollCtlOld = SyscallNumber(214)
  public static let epollWaitOld = SyscallNumber(215)
  public static let remapFilePages = SyscallNumber(216)
  public static let getdents64 = SyscallNumber(217)
  public static let setTidAddress = SyscallNumber(218)
  public static let restartSyscall = SyscallNumber(219)
  public static let semtimedop = SyscallNumber(220)
  public static let fadvise64 = SyscallNumber(221)
  public static let timerCreate = SyscallNumber(222)
  public static let timerSettime = SyscallNumber(223)
  public static let timerGettime = SyscallNumber(224)
  public static let timerGetoverrun = SyscallNumber(225)
  public static let timerDelete = SyscallNumber(226)
  public static let clockSettime = SyscallNumber(227)
  public static let clockGettime = SyscallNumber(228)
  public static let clockGetres = SyscallNumber(229)
  public static let clockNanosleep = SyscallNumber(230)
  public static let exitGroup = SyscallNumber(231)
  public static let epollWait = SyscallNumber(232)
  public static let epollCtl = SyscallNumber(233)
  public static let tgkill = SyscallNumber(234)
  public static let utimes = SyscallNumber(235)
  public static let vserver = SyscallNumber(236)
  public static let mbind = SyscallNumber(237)
  public static let setMempolicy = SyscallNumber(238)
  public static let getMempolicy = SyscallNumber(239)
  public static let mqOpen = SyscallNumber(240)
  public static let mqUnlink = SyscallNumber(241)
  public static let mqTimedsend = SyscallNumber(242)
  public static let mqTimedreceive = SyscallNumber(243)
  public static let mqNotify = SyscallNumber(244)
  public static let mqGetsetattr = SyscallNumber(245)
  public static let kexecLoad = SyscallNumber(246)
  public static let waitid = SyscallNumber(247)
  public static let addKey = SyscallNumber(248)
  public static let requestKey = SyscallNumber(249)
  public static let keyctl = SyscallNumber(250)
  public static let ioprioSet = SyscallNumber(251)
  public static let ioprioGet = SyscallNumber(252)
  public static let inotifyInit = SyscallNumber(253)
  public static let inotifyAddWatch = SyscallNumber(254)
  public static let inotifyRmWatch = SyscallNumber(255)
  public static let migratePages = SyscallNumber(256)
  public static let openat = SyscallNumber(257)
  public static let mkdirat = SyscallNumber(258)
  public static let mknodat = SyscallNumber(259)
  public static let fchownat = SyscallNumber(260)
  public static let futimesat = SyscallNumber(261)
  public static let newfstatat = SyscallNumber(262)
  public static let unlinkat = SyscallNumber(263)
  public static let renameat = SyscallNumber(264)
  public static let linkat = SyscallNumber(265)
  public static let symlinkat = SyscallNumber(266)
  public static let readlinkat = SyscallNumber(267)
  public static let fchmodat = SyscallNumber(268)
  public static let faccessat = SyscallNumber(269)
  public static let pselect6 = SyscallNumber(270)
  public static let ppoll = SyscallNumber(271)
  public static let unshare = SyscallNumber(272)
  public static let setRobustList = SyscallNumber(273)
  public static let getRobustList = SyscallNumber(274)
  public static let splice = SyscallNumber(275)
  public static let tee = SyscallNumber(276)
  public static let syncFileRange = SyscallNumber(277)
  public static let vmsplice = SyscallNumber(278)
  public static let movePages = SyscallNumber(279)
  public static let utimensat = SyscallNumber(280)
  public static let epollPwait = SyscallNumber(281)
  public static let signalfd = SyscallNumber(282)
  public static let timerfdCreate = SyscallNumber(283)
  public static let eventfd = SyscallNumber(284)
  public static let fallocate = SyscallNumber(285)
  public static let timerfdSettime = SyscallNumber(286)
  public static let timerfdGettime = SyscallNumber(287)
  public static let accept4 = SyscallNumber(288)
  public static let signalfd4 = SyscallNumber(289)
  public static let eventfd2 = SyscallNumber(290)
  public static let epollCreate1 = SyscallNumber(291)
  public static let dup3 = SyscallNumber(292)
  public static let pipe2 = SyscallNumber(293)
  public static let inotifyInit1 = SyscallNumber(294)
  public static let preadv = SyscallNumber(295)
  public static let pwritev = SyscallNumber(296)
  public static let rtTgsigqueueinfo = SyscallNumber(297)
  public static let perfEventOpen = SyscallNumber(298)
  public static let recvmmsg = SyscallNumber(299)

  // MARK: 300 through 335: the last of the classic range

  public static let fanotifyInit = SyscallNumber(300)
  public static let fanotifyMark = SyscallNumber(301)
  public static let prlimit64 = SyscallNumber(302)
  public static let nameToHandleAt = SyscallNumber(303)
  public static let openByHandleAt = SyscallNumber(304)
  public static let clockAdjtime = SyscallNumber(305)
  public static let syncfs = SyscallNumber(306)
  public static let sendmmsg = SyscallNumber(307)
  public static let setns = SyscallNumber(308)
  public static let getcpu = SyscallNumber(309)
  public static let processVmReadv = SyscallNumber(310)
  public static let processVmWritev = SyscallNumber(311)
  public static let kcmp = SyscallNumber(312)
  public static let finitModule = SyscallNumber(313)
  public static let schedSetattr = SyscallNumber(314)
  public static let schedGetattr = SyscallNumber(315)
  public static let renameat2 = SyscallNumber(316)
  public static let seccomp = SyscallNumber(317)
  public static let getrandom = SyscallNumber(318)
  public static let memfdCreate = SyscallNumber(319)
  public static let kexecFileLoad = SyscallNumber(320)
  public static let bpf = SyscallNumber(321)
  public static let execveat = SyscallNumber(322)
  public static let userfaultfd = SyscallNumber(323)
  public static let membarrier = SyscallNumber(324)
  public static let mlock2 = SyscallNumber(325)
  public static let copyFileRange = SyscallNumber(326)
  public static let preadv2 = SyscallNumber(327)
  public static let pwritev2 = SyscallNumber(328)
  public static let pkeyMprotect = SyscallNumber(329)
  public static let pkeyAlloc = SyscallNumber(330)
  public static let pkeyFree = SyscallNumber(331)
  public static let statx = SyscallNumber(332)
  public static let ioPgetevents = SyscallNumber(333)
  public static let rseq = SyscallNumber(334)
  public static let uretprobe = SyscallNumber(335)

  // MARK: 424 onwards: numbers shared by every architecture

  public static let pidfdSendSignal = SyscallNumber(424)
  public static let ioUringSetup = SyscallNumber(425)
  public static let ioUringEnter = SyscallNumber(426)
  public static let ioUringRegister = SyscallNumber(427)
  public static let openTree = SyscallNumber(428)
  public static let moveMount = SyscallNumber(429)
  public static let fsopen = SyscallNumber(430)
  public static let fsconfig = SyscallNumber(431)
  public static let fsmount = SyscallNumber(432)
  public static let fspick = SyscallNumber(433)
  public static let pidfdOpen = SyscallNumber(434)
  public static let clone3 = SyscallNumber(435)
  public static let closeRange = SyscallNumber(436)
  public static let openat2 = SyscallNumber(437)
  public static let pidfdGetfd = SyscallNumber(438)
  public static let faccessat2 = SyscallNumber(439)
  public static let processMadvise = SyscallNumber(440)
  public static let epollPwait2 = SyscallNumber(441)
  public static let mountSetattr = SyscallNumber(442)
  public static let quotactlFd = SyscallNumber(443)
  public static let landlockCreateRuleset = SyscallNumber(444)
  public static let landlockAddRule = SyscallNumber(445)
  public static let landlockRestrictSelf = SyscallNumber(446)
  public static let memfdSecret = SyscallNumber(447)
  public static let processMrelease = SyscallNumber(448)
  public static let futexWaitv = SyscallNumber(449)
  public static let setMempolicyHomeNode = SyscallNumber(450)
  public static let cachestat = SyscallNumber(451)
  public static let fchmodat2 = SyscallNumber(452)
  public static let mapShadowStack = SyscallNumber(453)
  public static let futexWake = SyscallNumber(454)
  public static let futexWait = SyscallNumber(455)
  public static let futexRequeue = SyscallNumber(456)
  public static let statmount = SyscallNumber(457)
  public static let listmount = SyscallNumber(458)
  public static let lsmGetSelfAttr = SyscallNumber(459)
  public static let lsmSetSelfAttr = SyscallNumber(460)
  public static let lsmListModules = SyscallNumber(461)
  public static let mseal = SyscallNumber(462)
  public static let setxattrat = SyscallNumber(463)
  public static let getxattrat = SyscallNumber(464)
  public static let listxattrat = SyscallNumber(465)
  public static let removexattrat = SyscallNumber(466)
  public static let openTreeAttr = SyscallNumber(467)
  public static let fileGetattr = SyscallNumber(468)
  public static let fileSetattr = SyscallNumber(469)
}
