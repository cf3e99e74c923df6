// An epoll instance (epoll(7)): an interest list of (descriptor, file)
// pairs with the events each wants. Readiness is computed when asked, not
// queued: level-triggered interests report whenever the file is ready;
// edge-triggered ones only when the file's readiness changed since they
// last reported (its generation moved); one-shot ones disarm after one
// report until EPOLL_CTL_MOD. Exclusive ones (EPOLLEXCLUSIVE) change who
// is woken, not what is reported (see Readiness.changed).

import LinuxABI

final class EpollInstance: OpenFile {
  static let edgeTriggered: UInt32 = 1 << 31
  static let oneShot: UInt32 = 1 << 30
  static let wakeUp: UInt32 = 1 << 29
  static let exclusive: UInt32 = 1 << 28
  /// Always reported, whether asked for or not.
  static let alwaysReported = PollEvents.error | PollEvents.hangUp
  /// What an EPOLLEXCLUSIVE interest may also ask for (epoll_ctl(2)):
  /// EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLWAKEUP, EPOLLET.
  static let exclusiveCompatible = PollEvents.input | PollEvents.output
    | alwaysReported | wakeUp | edgeTriggered | exclusive

  struct Interest {
    var fd: Int32
    var file: OpenFile
    var events: UInt32
    var data: UInt64
    var reportedGeneration: UInt64
    var armed = true
  }

  private(set) var interests: [Interest] = []
  private(set) var hasExclusiveInterests = false

  func add(fd: Int32, file: OpenFile, events: UInt32, data: UInt64)
    throws(Errno)
  {
    if events & EpollInstance.exclusive != 0 {
      // Exclusive wake-ups make no sense for an epoll inside an epoll,
      // nor with one-shot or the rarer events.
      guard !(file is EpollInstance),
        events & ~EpollInstance.exclusiveCompatible == 0
      else { throw .EINVAL }
      hasExclusiveInterests = true
    }
    guard index(fd: fd, file: file) == nil else { throw .EEXIST }
    interests.append(Interest(fd: fd, file: file, events: events, data: data,
                              reportedGeneration: file.generation &- 1))
  }

  func modify(fd: Int32, file: OpenFile, events: UInt32, data: UInt64)
    throws(Errno)
  {
    // EPOLLEXCLUSIVE may only be set by EPOLL_CTL_ADD, and an exclusive
    // interest cannot be modified at all.
    if events & EpollInstance.exclusive != 0 { throw .EINVAL }
    guard let i = index(fd: fd, file: file) else { throw .ENOENT }
    if interests[i].events & EpollInstance.exclusive != 0 { throw .EINVAL }
    interests[i].events = events
    interests[i].data = data
    interests[i].armed = true
    interests[i].reportedGeneration = file.generation &- 1
  }

  func remove(fd: Int32, file: OpenFile) throws(Errno) {
    guard let i = index(fd: fd, file: file) else { throw .ENOENT }
    interests.remove(at: i)
    hasExclusiveInterests = interests.contains {
      $0.events & EpollInstance.exclusive != 0
    }
  }

  /// Whether `collect` would report anything now, and whether all of it
  /// comes from exclusive interests; changes nothing, and never enters
  /// the network stack (Readiness.changed may run inside it).
  func pendingReport() -> (any: Bool, onlyExclusive: Bool) {
    var any = false
    var onlyExclusive = true
    for interest in interests where interest.armed &&
      interest.file.descriptorReferences > 0
    {
      let wanted = (interest.events & 0xFFFF) | EpollInstance.alwaysReported
      guard interest.file.pollEventsWithoutStack() & wanted != 0 else {
        continue
      }
      let edge = interest.events & EpollInstance.edgeTriggered != 0
      if edge && interest.reportedGeneration == interest.file.generation {
        continue
      }
      any = true
      if interest.events & EpollInstance.exclusive == 0 {
        onlyExclusive = false
      }
    }
    return (any, any && onlyExclusive)
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

  override func pollEvents() -> UInt32 { readiness(withoutStack: false) }

  override func pollEventsWithoutStack() -> UInt32 {
    readiness(withoutStack: true)
  }

  /// Readable when some interest is ready (without consuming edges).
  private func readiness(withoutStack: Bool) -> UInt32 {
    for interest in interests where interest.armed &&
      interest.file.descriptorReferences > 0
    {
      let wanted = (interest.events & 0xFFFF) | EpollInstance.alwaysReported
      let events = withoutStack ? interest.file.pollEventsWithoutStack()
        : interest.file.pollEvents()
      if events & wanted != 0 { return PollEvents.input }
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
