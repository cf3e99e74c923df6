// A disk image file on the host as a VillaFS block device.
//
// `villa` builds images for the kernel's virtio-blk disk, reads back what
// a program wrote, and puts files into existing images; all of that goes
// through VillaFS on top of this device. The block size is recorded in
// the filesystem's superblock and must match the one the guest's disk
// reports, so images use virtio-blk's 512-byte sectors unless told
// otherwise. New images are sparse: unwritten blocks take no host space.

import Glibc
import VillaFS

public final class ImageFileDevice: BlockDevice {
  public let path: String
  public let blockSize: Int
  public let blockCount: UInt64
  private let fd: Int32

  /// Opens an existing image; a trailing part smaller than a block is
  /// ignored.
  public init(openingImage path: String, readOnly: Bool = false,
              blockSize: Int = 512) throws(SystemCallError) {
    let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
    guard fd >= 0 else {
      throw SystemCallError(call: "open", errno: lastErrno())
    }
    var status = stat()
    guard fstat(fd, &status) == 0 else {
      let code = lastErrno()
      POSIX.close(fd)
      throw SystemCallError(call: "fstat", errno: code)
    }
    self.path = path
    self.fd = fd
    self.blockSize = blockSize
    blockCount = UInt64(status.st_size) / UInt64(blockSize)
  }

  /// Creates an image of `size` bytes (rounded down to whole blocks),
  /// replacing any file at `path`.
  public init(creatingImage path: String, size: UInt64,
              blockSize: Int = 512) throws(SystemCallError) {
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw SystemCallError(call: "open", errno: lastErrno())
    }
    let blocks = size / UInt64(blockSize)
    guard ftruncate(fd, off_t(blocks * UInt64(blockSize))) == 0 else {
      let code = lastErrno()
      POSIX.close(fd)
      throw SystemCallError(call: "ftruncate", errno: code)
    }
    self.path = path
    self.fd = fd
    self.blockSize = blockSize
    blockCount = blocks
  }

  deinit {
    POSIX.close(fd)
  }

  private func check(_ block: UInt64, _ count: Int, _ bytes: Int)
    throws(BlockDeviceError)
  {
    guard count >= 0, bytes == count * blockSize, block <= blockCount,
          UInt64(count) <= blockCount - block
    else { throw .outOfRange }
  }

  public func read(block: UInt64, count: Int,
                   into buffer: UnsafeMutableRawBufferPointer)
    throws(BlockDeviceError)
  {
    try check(block, count, buffer.count)
    var done = 0
    while done < buffer.count {
      let got = pread(fd, buffer.baseAddress! + done, buffer.count - done,
                      off_t(block) * off_t(blockSize) + off_t(done))
      if got > 0 {
        done += got
      } else if got < 0, lastErrno() == EINTR {
        continue
      } else {
        // An error, or end of file inside the image's own size.
        throw .ioError
      }
    }
  }

  public func write(block: UInt64, count: Int,
                    from buffer: UnsafeRawBufferPointer)
    throws(BlockDeviceError)
  {
    try check(block, count, buffer.count)
    var done = 0
    while done < buffer.count {
      let put = pwrite(fd, buffer.baseAddress! + done, buffer.count - done,
                       off_t(block) * off_t(blockSize) + off_t(done))
      if put > 0 {
        done += put
      } else if put < 0, lastErrno() == EINTR {
        continue
      } else if put < 0, lastErrno() == EBADF {
        throw .readOnly
      } else {
        throw .ioError
      }
    }
  }

  public func flush() throws(BlockDeviceError) {
    while fsync(fd) != 0 {
      guard lastErrno() == EINTR else { throw .ioError }
    }
  }
}
