// Every system call Villa implements, family by family. Each family file
// registers its handlers here with how completely it supports them; any
// number not registered answers ENOSYS (see SyscallDispatch.swift).

func registerAllSyscalls() {
  ProcessSyscalls.register()
  ThreadSyscalls.register()
  SignalSyscalls.register()
  MemorySyscalls.register()
  FileDescriptorSyscalls.register()
  PathSyscalls.register()
  TimeSyscalls.register()
  SystemSyscalls.register()
  PipeSyscalls.register()
  PollSyscalls.register()
  TimerSyscalls.register()
  SocketSyscalls.register()
  SpliceSyscalls.register()
}
