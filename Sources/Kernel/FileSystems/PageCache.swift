// The page cache of one file: the frames that shared mappings of it
// (mmap MAP_SHARED) map, owned by the inode so that every mapping and
// every read(2) and write(2) see one copy of each page. A filesystem
// whose contents are page-aligned memory (tmpfs) lends its own pages
// (Inode.contentsFrame), so there the mapping is the file and nothing
// below applies to those pages but truncation.
//
// A file has a cache only while some address space maps it shared. The
// cache is authoritative for the pages it holds: write(2) stores into the
// file and into the cached page; read(2) reads the file and then lays the
// cached pages over what it read, since a store through a mapping only
// reaches the frame. Pages a mapping dirtied (the page tables' dirty
// bits, collected by the address spaces) are written back to the
// filesystem by msync, by munmap of the last shared mapping, and when the
// program ends, so on the persistent filesystem they reach the disk.
//
// No cached page lies wholly past the end of the file: truncation first
// takes such pages out of every mapping (touching them then is SIGBUS,
// as on Linux) and zeroes the tail of the last page.

import LinuxABI

private let log = Logger("page-cache")

final class PageCache {
  static let pageSize: UInt64 = 4096

  /// File page index → physical frame.
  private var frames: [UInt64: UInt64] = [:]
  /// Pages a mapping changed since they were last written back.
  private var dirty: Set<UInt64> = []
  /// Pages whose frame is the filesystem's own memory (tmpfs): nothing
  /// to copy, write back or free.
  private var borrowed: Set<UInt64> = []
  /// The address spaces that map the file shared. Strong references: an
  /// address space leaves this list when it unmaps the file's last
  /// shared region, which is what breaks the cycle through its regions.
  private(set) var mappers: [AddressSpace] = []

  /// Whether any page is a copy that may need writing back; when not,
  /// nobody needs to collect dirty bits.
  var holdsCopies: Bool { frames.count > borrowed.count }

  /// The frame holding page `index` of `inode`, read from the file the
  /// first time. The caller has checked that the page is within the file.
  func frame(at index: UInt64, of inode: Inode) throws(Errno) -> UInt64 {
    if let frame = frames[index] { return frame }
    if let own = try inode.contentsFrame(at: index) {
      frames[index] = own
      borrowed.insert(index)
      return own
    }
    guard let frame = FrameAllocator.allocateZeroed() else {
      throw .ENOMEM
    }
    let page = UnsafeMutableRawBufferPointer(
      start: DirectMap.pointer(frame), count: Int(PageCache.pageSize))
    do throws(Errno) {
      _ = try inode.readContents(at: index * PageCache.pageSize, into: page)
    } catch {
      FrameAllocator.free(frame)
      throw error
    }
    // The read may have waited for the disk while another thread's fault
    // filled the page: one frame per page, always.
    if let other = frames[index] {
      FrameAllocator.free(frame)
      return other
    }
    // A write(2) meanwhile is in the page: it took the filesystem's lock
    // before the read (so the read saw it) or gets it only now, after
    // this insertion (the kernel is not preempted), and updates the page.
    frames[index] = frame
    return frame
  }

  func markDirty(_ index: UInt64) {
    if frames[index] != nil && !borrowed.contains(index) {
      dirty.insert(index)
    }
  }

  // MARK: Coherence with read(2) and write(2)

  /// Copies the cached pages that overlap [offset, offset + count) over
  /// `buffer`, which holds what the file says for that range.
  func overlay(at offset: UInt64, onto buffer: UnsafeMutableRawBufferPointer)
  {
    forEachPiece(at: offset, count: buffer.count) { frame, within, done, n in
      (buffer.baseAddress! + done).copyMemory(
        from: DirectMap.pointer(frame) + within, byteCount: n)
    }
  }

  /// Stores what write(2) wrote into the cached pages it overlaps.
  func update(at offset: UInt64, from buffer: UnsafeRawBufferPointer) {
    forEachPiece(at: offset, count: buffer.count) { frame, within, done, n in
      (DirectMap.pointer(frame) + within).copyMemory(
        from: buffer.baseAddress! + done, byteCount: n)
    }
  }

  /// Calls `body(frame, offset in page, offset in buffer, length)` for
  /// each cached page piece of [offset, offset + count), except borrowed
  /// pages, which are the contents themselves.
  private func forEachPiece(
    at offset: UInt64, count: Int,
    _ body: (UInt64, Int, Int, Int) -> Void
  ) {
    guard count > 0, !frames.isEmpty else { return }
    let size = PageCache.pageSize
    var done = 0
    while done < count {
      let position = offset + UInt64(done)
      let within = Int(position % size)
      let n = min(count - done, Int(size) - within)
      let index = position / size
      if let frame = frames[index], !borrowed.contains(index) {
        body(frame, within, done, n)
      }
      done += n
    }
  }

  // MARK: Truncation and write-back

  /// The file became `length` bytes long: pages past the end leave every
  /// mapping and the cache; the tail of the last page reads as zero.
  func truncate(to length: UInt64, of inode: Inode) {
    let size = PageCache.pageSize
    let kept = (length + size - 1) / size
    for mapper in mappers {
      mapper.unmapFilePages(of: inode, fromPage: kept)
    }
    for (index, frame) in frames where index >= kept {
      frames[index] = nil
      dirty.remove(index)
      if borrowed.remove(index) == nil { FrameAllocator.free(frame) }
    }
    if length % size != 0, let last = frames[length / size] {
      let within = Int(length % size)
      (DirectMap.pointer(last) + within).initializeMemory(
        as: UInt8.self, repeating: 0, count: Int(size) - within)
    }
  }

  /// Writes the dirty pages back to the file, each clipped to its end.
  func writeBack(_ inode: Inode) throws(Errno) {
    for mapper in mappers { mapper.collectDirtyPages(of: inode) }
    guard !dirty.isEmpty else { return }
    let size = inode.size
    for index in dirty.sorted() {
      guard let frame = frames[index] else { continue }
      let start = index * PageCache.pageSize
      guard start < size else { continue }
      let count = Int(min(PageCache.pageSize, size - start))
      let written = try inode.writeContents(
        at: start, from: UnsafeRawBufferPointer(
          start: DirectMap.pointer(frame), count: count))
      if written < count { throw .ENOSPC }
      dirty.remove(index)
    }
  }

  // MARK: Mappers

  func addMapper(_ space: AddressSpace) {
    if !mappers.contains(where: { $0 === space }) { mappers.append(space) }
  }

  /// Forgets `space`; true when no mapper is left and the caller should
  /// write back and release the cache.
  func removeMapper(_ space: AddressSpace) -> Bool {
    mappers.removeAll { $0 === space }
    return mappers.isEmpty
  }

  /// Frees every frame; no mapping may still map them.
  func release() {
    if !dirty.isEmpty {
      log.warn("released \(dirty.count) pages not written back")
    }
    for (index, frame) in frames where !borrowed.contains(index) {
      FrameAllocator.free(frame)
    }
    frames = [:]
    dirty = []
    borrowed = []
  }
}
