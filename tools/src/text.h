#pragma once
// Text from a file on its way to a terminal. Keys, strings and tensor names may hold any bytes:
// escape sequences that retitle or clear the terminal, bidirectional overrides that reorder what
// is shown, bytes that are not UTF-8. Every command writes such text through these functions,
// so all of it is escaped one way; and over-long names are cut in the middle, so a listing costs
// at most a few KiB per line however long the file's keys are.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace wick::cli {

/// What may pass unescaped.
enum class Escape {
  /// A key or a path: every control character, and '\' as "\\", so the escaped form is
  /// unambiguous.
  kName,
  /// One line of a message or a repr (which escapes its own backslashes): control characters
  /// including newlines are escaped, '\' passes.
  kLine,
  /// Several lines of a repr (wick cat): as kLine, but newlines pass.
  kText,
};

/// Names longer than this many bytes are shown as their first and last kShownEndBytes bytes
/// around "...[N bytes]...".
inline constexpr std::size_t kMaxShownBytes = 1024;
inline constexpr std::size_t kShownEndBytes = 480;
/// Messages (which may quote several names) are cut at this length instead.
inline constexpr std::size_t kMaxMessageBytes = 4096;

/// `s` with what a terminal would act on escaped: C0 controls and DEL as \n, \r, \t or \xNN;
/// C1 controls, bidirectional and invisible format characters and line separators as \uNNNN;
/// bytes that are not UTF-8 as \xNN. Valid UTF-8 otherwise passes unchanged.
std::string escaped(std::string_view s, Escape mode = Escape::kName);

/// escaped(s), with the middle cut out when `s` is longer than `max` bytes:
/// "/model/kkkk...[262150 bytes]...kkkk/weight". The cut falls between UTF-8 characters.
std::string shown(std::string_view s, std::size_t max = kMaxShownBytes,
                  Escape mode = Escape::kName);

/// An ostream that escapes (Escape::kText) what is written to it on its way to `out`, so a
/// repr of any size goes to the terminal escaped without first being held whole.
class EscapingStream : public std::ostream {
 public:
  explicit EscapingStream(std::ostream& target);
  ~EscapingStream() override;
  EscapingStream(const EscapingStream&) = delete;
  EscapingStream& operator=(const EscapingStream&) = delete;

 private:
  class Buffer;
  std::unique_ptr<Buffer> buffer_;
};

/// UTF-8 and JSON helpers shared with the JSON writer.
namespace text_detail {
/// Length (2 to 4) of the valid UTF-8 sequence at s[i] and its code point; 0 when the bytes
/// there are not one (bad lead, overlong, surrogate, out of range); and sets `truncated` when
/// they could still become one with more bytes.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp, bool& truncated);
/// Code points a terminal may act on or hide: C1 controls, bidi controls, zero-width and
/// other format characters, line and paragraph separators.
bool is_hazard(char32_t cp);
/// Appends "\uNNNN" (lower-case hex; code points past U+FFFF never need it here).
void append_u_escape(std::string& out, char32_t cp);
}  // namespace text_detail

}  // namespace wick::cli
