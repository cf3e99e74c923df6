// `villa profile-svg`: a flame graph of a folded profile, as SVG.
//
// The stacks are merged into a tree: the root ("all") holds every sample,
// and each frame's children are the functions it called, merged by name
// and ordered alphabetically, so a function's box is as wide as the
// samples under it wherever they were taken. Boxes stack upwards from the
// root, one row per call depth. Colours say whose code a box is: warm for
// the program, blue for the kernel ("_[k]"), grey for idle and unknown
// frames; within a family the shade comes from a hash of the name, so the
// same function has the same colour in every graph. Hovering a box shows
// its full name and share (an SVG <title>); no script is needed to read
// it, and any browser or image viewer shows it.

/// A node of the merged call tree.
struct FlameNode {
  var name: String
  var samples: UInt64 = 0
  var children: [String: FlameNode] = [:]

  init(name: String) { self.name = name }

  mutating func add(_ frames: ArraySlice<String>, _ count: UInt64) {
    samples += count
    guard let first = frames.first else { return }
    children[first, default: FlameNode(name: first)]
      .add(frames.dropFirst(), count)
  }

  var depth: Int {
    1 + (children.values.map(\.depth).max() ?? 0)
  }
}

public enum FlameGraph {
  /// Layout constants, in pixels.
  public static let defaultWidth = 1200
  static let rowHeight = 16
  static let margin = 10
  static let titleHeight = 34
  static let fontSize = 12
  /// About the width of one character of the label font.
  static let characterWidth = 7.0
  /// Boxes narrower than this are left out (and their children with them).
  static let minimumBoxWidth = 0.3

  /// The SVG document for `profile`.
  public static func svg(_ profile: FoldedProfile, title: String,
                         width: Int = defaultWidth) -> String
  {
    var root = FlameNode(name: "all")
    for stack in profile.stacks {
      root.add(stack.frames[...], stack.count)
    }
    let rows = root.depth
    let height = titleHeight + rows * rowHeight + 2 * margin
    let total = max(root.samples, 1)
    let scale = Double(width - 2 * margin) / Double(total)

    var out: [String] = []
    out.append("""
      <?xml version="1.0" standalone="no"?>
      <svg version="1.1" xmlns="http://www.w3.org/2000/svg" \
      width="\(width)" height="\(height)" \
      viewBox="0 0 \(width) \(height)">
      <style>
      text { font-family: Verdana, sans-serif; font-size: \(fontSize)px; \
      fill: #000; }
      rect:hover { stroke: #000; stroke-width: 0.5; }
      </style>
      <rect x="0" y="0" width="\(width)" height="\(height)" fill="#f8f8f4"/>
      <text x="\(width / 2)" y="\(margin + 14)" text-anchor="middle" \
      style="font-size: 16px">\(escape(title))</text>
      <text x="\(margin)" y="\(margin + 28)" style="fill: #555">\
      \(root.samples) samples; hover over a box for its name and share\
      </text>
      """)

    // Depth-first, children left to right by name.
    func draw(_ node: FlameNode, depth: Int, x: Double) {
      let boxWidth = Double(node.samples) * scale
      guard boxWidth >= minimumBoxWidth else { return }
      let y = height - margin - (depth + 1) * rowHeight
      let share = 100 * Double(node.samples) / Double(total)
      let tip = "\(node.name) (\(node.samples) sample"
        + "\(node.samples == 1 ? "" : "s"), \(format(share))%)"
      out.append("<g><title>\(escape(tip))</title>"
        + "<rect x=\"\(format(x))\" y=\"\(y)\" "
        + "width=\"\(format(boxWidth))\" height=\"\(rowHeight - 1)\" "
        + "fill=\"\(colour(for: node.name))\" rx=\"2\"/>"
        + label(node.name, x: x, y: y, width: boxWidth) + "</g>")
      var childX = x
      for name in node.children.keys.sorted() {
        let child = node.children[name]!
        draw(child, depth: depth + 1, x: childX)
        childX += Double(child.samples) * scale
      }
    }
    draw(root, depth: 0, x: Double(margin))
    out.append("</svg>")
    return out.joined(separator: "\n") + "\n"
  }

  /// The box's label: the name, cut to fit with "..", or nothing when
  /// not even three characters fit.
  static func label(_ name: String, x: Double, y: Int, width: Double)
    -> String
  {
    let fits = Int((width - 6) / characterWidth)
    guard fits >= 3 else { return "" }
    let text = name.count <= fits ? name : name.prefix(fits - 2) + ".."
    return "<text x=\"\(format(x + 3))\" y=\"\(y + rowHeight - 4)\">"
      + "\(escape(String(text)))</text>"
  }

  /// A colour for the frame: its family by kind, its shade by name.
  public static func colour(for name: String) -> String {
    // FNV-1a: stable across runs, unlike Swift's seeded hashValue.
    var hash: UInt32 = 2_166_136_261
    for byte in name.utf8 {
      hash = (hash ^ UInt32(byte)) &* 16_777_619
    }
    let a = Int(hash & 0xFF), b = Int((hash >> 8) & 0xFF)
    if name == FoldedProfile.idleFrame
      || name.hasPrefix(FoldedProfile.unknownFrame)
    {
      let grey = 190 + a % 30
      return rgb(grey, grey, grey)
    }
    if name.hasSuffix(FoldedProfile.kernelSuffix) {
      return rgb(80 + a % 50, 140 + b % 60, 220 + a % 30)
    }
    return rgb(205 + a % 50, 80 + b % 150, 40 + a % 40)
  }

  private static func rgb(_ r: Int, _ g: Int, _ b: Int) -> String {
    "rgb(\(r),\(g),\(b))"
  }

  /// A number with at most two decimals, as SVG attributes want it.
  static func format(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let whole = hundredths / 100, part = hundredths % 100
    if part == 0 { return "\(whole)" }
    return "\(whole)." + (part < 10 ? "0\(part)" : "\(part)")
  }

  /// Text made safe for XML content and attribute values.
  static func escape(_ text: String) -> String {
    var out = ""
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.append(character)
      }
    }
    return out
  }
}
