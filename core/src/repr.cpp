// Python's repr of strings and floats, for printing Values and Keys.

#include "repr.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ostream>
#include <string>

namespace wick::detail {
namespace {

void write_hex_escape(std::ostream& out, unsigned value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out << "\\x" << kHex[(value >> 4) & 0xF] << kHex[value & 0xF];
}

// Length of the valid UTF-8 sequence starting at s[i] (2 to 4 bytes) and its code point, or 0
// when the bytes there are not one (overlong, surrogate, out of range or truncated).
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned lead = byte(i);
  std::size_t len = 0;
  char32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

// Python's str repr. Strings are taken as UTF-8: valid multi-byte characters print as they are,
// except the Latin-1 ones Python does not consider printable (C1 controls, no-break space, soft
// hyphen), which print as \xNN like Python; bytes that are not valid UTF-8 print as \xNN too.
// (Python also escapes rarer non-printable code points as \uNNNN; those pass through here.)
void write_string_repr(std::ostream& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out << quote;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out << '\\' << s[i++];
    } else if (c == '\n') {
      out << "\\n", ++i;
    } else if (c == '\r') {
      out << "\\r", ++i;
    } else if (c == '\t') {
      out << "\\t", ++i;
    } else if (c < 0x20 || c == 0x7F) {
      write_hex_escape(out, c), ++i;
    } else if (c < 0x80) {
      out << s[i++];
    } else {
      char32_t cp = 0;
      const std::size_t len = utf8_sequence(s, i, cp);
      if (len == 0) {
        write_hex_escape(out, c), ++i;
      } else if (cp <= 0xA0 || cp == 0xAD) {
        write_hex_escape(out, static_cast<unsigned>(cp)), i += len;
      } else {
        out << s.substr(i, len), i += len;
      }
    }
  }
  out << quote;
}

// Python's float repr: the shortest digits that round-trip, positional when the decimal exponent
// is in [-4, 16), scientific ("1e+16", "1e-05") otherwise, and ".0" on integral values.
void write_float_repr(std::ostream& out, double x) {
  if (std::isnan(x)) {
    out << "nan";
    return;
  }
  if (std::isinf(x)) {
    out << (x < 0 ? "-inf" : "inf");
    return;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  // sci is "[-]d[.ddd]e(+|-)XX".
  const std::size_t e_pos = sci.find('e');
  const bool negative = sci.front() == '-';
  std::string digits;
  for (char c : sci.substr(negative ? 1 : 0, e_pos - (negative ? 1 : 0))) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  const std::string_view exp_text = sci.substr(e_pos + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0),
                  exp_text.data() + exp_text.size(), exponent);

  if (negative) out << '-';
  if (exponent < -4 || exponent >= 16) {
    out << digits.front();
    if (digits.size() > 1) out << '.' << std::string_view(digits).substr(1);
    out << 'e' << (exponent < 0 ? '-' : '+');
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out << '0';
    out << magnitude;
  } else if (exponent < 0) {
    out << "0." << std::string(static_cast<std::size_t>(-exponent - 1), '0') << digits;
  } else {
    const auto int_len = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out << digits << std::string(int_len - digits.size(), '0') << ".0";
    } else {
      out << std::string_view(digits).substr(0, int_len) << '.'
          << std::string_view(digits).substr(int_len);
    }
  }
}

}  // namespace wick::detail
