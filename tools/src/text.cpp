#include "text.h"

#include <algorithm>
#include <array>

namespace wick::cli {

namespace text_detail {

std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp, bool& truncated) {
  truncated = false;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned lead = byte(i);
  std::size_t len = 0;
  char32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2, cp = lead & 0x1Fu, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3, cp = lead & 0x0Fu, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      truncated = true;
      return 0;
    }
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool is_hazard(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls (0x9B is a CSI on some terminals)
         cp == 0x061C ||                    // Arabic letter mark
         (cp >= 0x200B && cp <= 0x200F) ||  // zero-width characters, LRM, RLM
         (cp >= 0x2028 && cp <= 0x202E) ||  // line/paragraph separators, bidi embeddings
         (cp >= 0x2060 && cp <= 0x2069) ||  // word joiner, invisible operators, bidi isolates
         cp == 0xFEFF;                      // zero-width no-break space
}

void append_u_escape(std::string& out, char32_t cp) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4)
    out += kHex[(cp >> shift) & 0xF];
}

}  // namespace text_detail

namespace {

void append_x_escape(std::string& out, unsigned char c) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

// Escapes the ASCII byte `c`.
void escape_ascii(unsigned char c, Escape mode, std::string& out) {
  if (c == '\\' && mode == Escape::kName) {
    out += "\\\\";
  } else if (c == '\n') {
    out += mode == Escape::kText ? "\n" : "\\n";
  } else if (c == '\r') {
    out += "\\r";
  } else if (c == '\t') {
    out += "\\t";
  } else if (c < 0x20 || c == 0x7F) {
    append_x_escape(out, c);
  } else {
    out += static_cast<char>(c);
  }
}

// Escapes the character at s[i] and returns how many bytes it took; 0 when s ends inside a
// UTF-8 sequence that more bytes may complete (only when `more` says more bytes will come).
std::size_t escape_at(std::string_view s, std::size_t i, Escape mode, bool more, std::string& out) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    escape_ascii(c, mode, out);
    return 1;
  }
  char32_t cp = 0;
  bool truncated = false;
  const std::size_t len = text_detail::utf8_sequence(s, i, cp, truncated);
  if (len == 0) {
    if (truncated && more) return 0;
    append_x_escape(out, c);
    return 1;
  }
  if (text_detail::is_hazard(cp)) {
    text_detail::append_u_escape(out, cp);
  } else {
    out.append(s.substr(i, len));
  }
  return len;
}

// Escapes s[from..] into `out`; returns where it stopped (s.size(), or the start of an
// unfinished UTF-8 sequence at the end when `more`).
std::size_t escape_into(std::string_view s, std::size_t from, Escape mode, bool more,
                        std::string& out) {
  std::size_t i = from;
  while (i < s.size()) {
    const std::size_t used = escape_at(s, i, mode, more, out);
    if (used == 0) break;
    i += used;
  }
  return i;
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

std::string escaped(std::string_view s, Escape mode) {
  std::string out;
  out.reserve(s.size());
  escape_into(s, 0, mode, false, out);
  return out;
}

std::string shown(std::string_view s, std::size_t max, Escape mode) {
  if (s.size() <= max) return escaped(s, mode);
  const std::size_t ends = std::min(kShownEndBytes, max / 2);
  // Cut between characters: a cut inside a UTF-8 sequence would show it as invalid bytes.
  std::size_t head = ends;
  for (int k = 0; k < 3 && head > 0 && is_continuation(s[head]); ++k)
    --head;
  std::size_t tail = s.size() - ends;
  for (int k = 0; k < 3 && tail < s.size() && is_continuation(s[tail]); ++k)
    ++tail;
  std::string out = escaped(s.substr(0, head), mode);
  out += "...[" + std::to_string(s.size()) + " bytes]...";
  out += escaped(s.substr(tail), mode);
  return out;
}

/// Escapes in chunks; keeps the bytes of a UTF-8 sequence split across two writes.
class EscapingStream::Buffer : public std::streambuf {
 public:
  explicit Buffer(std::ostream& target) : out_(target) {
    setp(chunk_.data(), chunk_.data() + kChunk);
  }
  ~Buffer() override = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void finish() {
    drain(false);
    out_.flush();
  }

 protected:
  int_type overflow(int_type c) override {
    drain(true);
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    drain(true);
    return out_.flush() ? 0 : -1;
  }

 private:
  static constexpr std::size_t kChunk = 1 << 14;

  // Escapes what is buffered; with `more`, an unfinished sequence at the end waits for the rest.
  void drain(bool more) {
    const std::string_view pending(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    escaped_.clear();
    const std::size_t done = escape_into(pending, 0, Escape::kText, more, escaped_);
    out_.write(escaped_.data(), static_cast<std::streamsize>(escaped_.size()));
    // At most 3 bytes are left: move them to the front.
    const std::size_t left = pending.size() - done;
    for (std::size_t k = 0; k < left; ++k)
      chunk_[k] = pending[done + k];
    setp(chunk_.data(), chunk_.data() + kChunk);
    pbump(static_cast<int>(left));
  }

  std::ostream& out_;
  std::array<char, kChunk> chunk_{};
  std::string escaped_;
};

EscapingStream::EscapingStream(std::ostream& target)
    : std::ostream(nullptr), buffer_(std::make_unique<Buffer>(target)) {
  rdbuf(buffer_.get());
}

EscapingStream::~EscapingStream() {
  buffer_->finish();
}

}  // namespace wick::cli
