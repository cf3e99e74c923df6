// An epoll instance (epoll(7)): an interest list of (descriptor, file)
// pairs with the events each wants. Readiness is computed when asked, not
// queued: level-triggered interests report whenever the file is ready;
// edge-triggered ones only when the file's readiness changed since they
// last reported (its generation moved); one-shot ones disarm after one
// report until EPOLL_CTL_MOD.

import LinuxABI

final class EpollInstance: OpenFile {
  static let edgeTriggered: UInt32 = 1 << 31
  static let oneShot: UInt32 = 1 << 30
  static let wakeUp: UInt32 = 1 << 29
  static let exclusive: UInt32 = 1 << 28
  /// Always reported, whether asked for or not.
  static let alwaysReported = PollEvents.error | PollEvents.hangUp

  struct Interest {
    var fd: Int32
    var file: OpenFile
    var events: UInt32
    var data: UInt64
    var reportedGeneration: UInt64
    var armed = true
  }

  private(set) var interests: [Interest] = []

  func add(fd: Int32, file: OpenFile, events: UInt32, data: UInt64)
    throws(Errno)
  {
    guard index(fd: fd, file: file) == nil else { throw .EEXIST }
    interests.append(Interest(fd: fd, file: file, events: events, data: data,
                              reportedGeneration: file.generation &- 1))
  }

  func modify(fd: Int32, file: OpenFile, events: UInt32, data: UInt64)
    throws(Errno)
  {
    guard let i = index(fd: fd, file: file) else { throw .ENOENT }
    // EPOLLEXCLUSIVE may only be set by EPOLL_CTL_ADD.
    if interests[i].events & EpollInstance.exclusive != 0 { throw .EINVAL }
    interests[i].events = events
    interests[i].data = data
    interests[i].armed = true
    interests[i].reportedGeneration = file.generation &- 1
  }

  func remove(fd: Int32, file: OpenFile) throws(Errno) {
    guard let i = index(fd: fd, file: file) else { throw .ENOENT }
    interests.remove(at: i)
  }

  /// Ready events, at most `limit`, as (events, data) pairs.
  func collect(limit: Int) -> [(UInt32, UInt64)] {
    // An interest whose file has no descriptor left is gone, as Linux
    // drops it when the file is finally closed.
    interests.removeAll { $0.file.descriptorReferences == 0 }
    var ready: [(UInt32, UInt64)] = []
    for i in interests.indices where ready.count < limit {
      let interest = interests[i]
      guard interest.armed else { continue }
      let wanted = (interest.events & 0xFFFF) | EpollInstance.alwaysReported
      let events = interest.file.pollEvents() & wanted
      if events == 0 { continue }
      let edge = interest.events & EpollInstance.edgeTriggered != 0
      if edge && interest.reportedGeneration == interest.file.generation {
        continue
      }
      interests[i].reportedGeneration = interest.file.generation
      if interest.events & EpollInstance.oneShot != 0 {
        interests[i].armed = false
      }
      ready.append((events, interest.data))
    }
    return ready
  }

  override func pollEvents() -> UInt32 {
    // Readable when some interest is ready (without consuming edges).
    for interest in interests where interest.armed &&
      interest.file.descriptorReferences > 0
    {
      let wanted = (interest.events & 0xFFFF) | EpollInstance.alwaysReported
      if interest.file.pollEvents() & wanted != 0 {
        return PollEvents.input
      }
    }
    return 0
  }

  private func index(fd: Int32, file: OpenFile) -> Int? {
    interests.firstIndex { $0.fd == fd && $0.file === file }
  }

  override func status() -> Stat {
    var stat = super.status()
    stat.mode = FileMode(rawValue: 0o600)
    return stat
  }

  override var procName: [UInt8] { Array("anon_inode:[eventpoll]".utf8) }
}
