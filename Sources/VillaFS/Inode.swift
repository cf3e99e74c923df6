// An inode as the filesystem holds it in memory, and a directory's
// entries.
//
// The whole metadata state lives in memory while the filesystem is
// mounted: the log on disk is its history and the checkpoint its snapshot.
// A directory keeps two views of its entries: a table by name for lookup,
// and a list in cookie order for readdir. Removal only marks a list slot
// as gone, so deleting every entry of a big directory is not quadratic;
// the list is compacted once gone slots outnumber live ones.

/// Where a name in a directory points, and its readdir position.
struct DirectoryLink: Equatable {
  var inode: InodeNumber
  var cookie: UInt64
}

struct DirectorySlot {
  var cookie: UInt64
  var name: [UInt8]
  var removed: Bool
}

final class Inode {
  let number: InodeNumber
  let kind: FileKind
  var mode: UInt32
  var uid: UInt32
  var gid: UInt32
  var linkCount: UInt32
  var rdev: UInt64
  var size: UInt64
  var accessTime: Timestamp
  var modificationTime: Timestamp
  var changeTime: Timestamp

  // Directories only.
  /// The directory holding this one; the root is its own parent.
  var parent: InodeNumber = 0
  private(set) var entries: [[UInt8]: DirectoryLink] = [:]
  private(set) var slots: [DirectorySlot] = []
  private var removedSlots = 0
  /// The cookie the next entry gets; cookies start at 3.
  private(set) var nextCookie: UInt64 = 3

  // Regular files only.
  var extents = ExtentMap()

  // Symlinks only.
  var target: [UInt8] = []

  /// Opens the VFS holds (acquire minus release). Not persistent: after a
  /// reboot nothing is open, so unlinked inodes are freed at mount.
  var openCount = 0

  init(number: InodeNumber, kind: FileKind, mode: UInt32, uid: UInt32,
       gid: UInt32, linkCount: UInt32, rdev: UInt64, time: Timestamp) {
    self.number = number
    self.kind = kind
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.linkCount = linkCount
    self.rdev = rdev
    self.size = 0
    self.accessTime = time
    self.modificationTime = time
    self.changeTime = time
  }

  var entryCount: Int { entries.count }

  func entry(named name: [UInt8]) -> DirectoryLink? {
    entries[name]
  }

  /// Adds an entry with the next cookie.
  func addEntry(_ name: [UInt8], inode: InodeNumber) {
    addEntry(name, inode: inode, cookie: nextCookie)
  }

  /// Adds an entry with a given cookie, which must exceed every cookie
  /// handed out so far (the checkpoint loader checks this).
  func addEntry(_ name: [UInt8], inode: InodeNumber, cookie: UInt64) {
    entries[name] = DirectoryLink(inode: inode, cookie: cookie)
    slots.append(DirectorySlot(cookie: cookie, name: name, removed: false))
    nextCookie = cookie + 1
  }

  /// Restores the cookie counter from a checkpoint.
  func setNextCookie(_ value: UInt64) {
    nextCookie = value
  }

  /// Points an existing entry at another inode, keeping its cookie, as
  /// RENAME_EXCHANGE does.
  func retarget(_ name: [UInt8], to inode: InodeNumber) {
    entries[name]?.inode = inode
  }

  @discardableResult
  func removeEntry(_ name: [UInt8]) -> DirectoryLink? {
    guard let link = entries.removeValue(forKey: name) else { return nil }
    let index = slotIndex(firstCookieAtLeast: link.cookie)
    if index < slots.count, slots[index].cookie == link.cookie {
      slots[index].removed = true
      slots[index].name = []
      removedSlots += 1
    }
    if removedSlots > 32, removedSlots > slots.count / 2 {
      slots.removeAll { $0.removed }
      removedSlots = 0
    }
    return link
  }

  private func slotIndex(firstCookieAtLeast cookie: UInt64) -> Int {
    var low = 0
    var high = slots.count
    while low < high {
      let middle = (low + high) / 2
      if slots[middle].cookie < cookie {
        low = middle + 1
      } else {
        high = middle
      }
    }
    return low
  }

  /// Live entries with cookies above `cookie`, in cookie order, at most
  /// `limit` of them.
  func entries(after cookie: UInt64, limit: Int)
    -> [(name: [UInt8], link: DirectoryLink)]
  {
    var result: [(name: [UInt8], link: DirectoryLink)] = []
    guard cookie < UInt64.max else { return result }
    var index = slotIndex(firstCookieAtLeast: cookie + 1)
    while index < slots.count, result.count < limit {
      let slot = slots[index]
      if !slot.removed, let link = entries[slot.name] {
        result.append((slot.name, link))
      }
      index += 1
    }
    return result
  }

  /// Every live entry in cookie order.
  func allEntries() -> [(name: [UInt8], link: DirectoryLink)] {
    entries(after: 0, limit: Int.max)
  }

  /// Whether a directory has no entries ("." and ".." are not stored).
  var isEmptyDirectory: Bool { entries.isEmpty }
}
