#pragma once
// Helpers for the interop tests: describing a Value as text lines (the format of
// tests/interop/wick_manifest.py), running the Python helper scripts, and building zip archives
// and pickles byte by byte for hostile inputs.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io_testing.h"
#include "wick/wick.h"

namespace wick::testing {

// ---------------------------------------------------------------------------------------------
// Manifests: one line per node, pre-order; see tests/interop/wick_manifest.py.

inline std::string to_hex(const void* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  const auto* p = static_cast<const uint8_t*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

inline void describe(const Value& v, const std::string& path, std::vector<std::string>& out) {
  switch (v.kind()) {
    case Value::Kind::None:
      out.push_back(path + "\tnone");
      return;
    case Value::Kind::Bool:
      out.push_back(path + "\tbool\t" + (v.as_bool() ? "True" : "False"));
      return;
    case Value::Kind::Int:
      out.push_back(path + "\tint\t" + std::to_string(v.as_int()));
      return;
    case Value::Kind::Float: {
      const double d = v.as_float();
      out.push_back(path + "\tfloat\t" + to_hex(&d, sizeof d));
      return;
    }
    case Value::Kind::String:
      out.push_back(path + "\tstr\t" + to_hex(v.as_string().data(), v.as_string().size()));
      return;
    case Value::Kind::Tensor: {
      const Tensor c = v.tensor().contiguous();
      std::string shape;
      for (int64_t s : c.shape()) {
        if (!shape.empty()) shape += ',';
        shape += std::to_string(s);
      }
      out.push_back(path + "\ttensor\t" + std::string(dtype_name(c.dtype())) + "\t" + shape + "\t" +
                    to_hex(c.raw_data(), c.nbytes()));
      return;
    }
    case Value::Kind::List:
    case Value::Kind::Tuple:
      out.push_back(path + (v.is_list() ? "\tlist\t" : "\ttuple\t") + std::to_string(v.size()));
      for (std::size_t i = 0; i < v.size(); ++i)
        describe(v[i], path + "/" + std::to_string(i), out);
      return;
    case Value::Kind::Dict:
      out.push_back(path + "\tdict\t" + std::to_string(v.dict().size()));
      for (const auto& [key, item] : v.dict())
        describe(item, path + "/" + (key.is_int() ? "int:" + key.text() : key.str()), out);
      return;
  }
}

/// The manifest lines of `v`.
inline std::vector<std::string> describe(const Value& v) {
  std::vector<std::string> out;
  describe(v, "", out);
  return out;
}

inline std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

/// Writes `path`.manifest describing `v`.
inline void write_manifest(const std::filesystem::path& path, const Value& v) {
  std::string text;
  for (const auto& line : describe(v))
    text += line + "\n";
  write_text(path.string() + ".manifest", text);
}

// ---------------------------------------------------------------------------------------------
// Python: Debian's /usr/bin/python3 has python3-torch and python3-numpy; WICK_PYTHON overrides.

inline std::string python() {
  if (const char* p = std::getenv("WICK_PYTHON"); p != nullptr && *p != '\0') return p;
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

/// CI sets WICK_REQUIRE_PEERS=1: a missing Python module then fails the test instead of
/// skipping it.
inline bool peers_required() {
  const char* v = std::getenv("WICK_REQUIRE_PEERS");
  return v != nullptr && std::string_view(v) == "1";
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct ScriptResult {
  int status = -1;  // exit status; 77: a module is missing, 127: no python
  std::string output;
  bool missing_python() const { return status == 77 || status == 127; }
};

/// Runs `command` through the shell, capturing stdout and stderr.
inline ScriptResult run_command(const std::string& command) {
  ScriptResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe))
    r.output.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

/// Runs the Python script at `path` (relative to the source tree) with `args`.
inline ScriptResult run_python(const std::string& path, const std::vector<std::string>& args) {
  std::string cmd =
      shell_quote(python()) + " " + shell_quote(std::string(WICK_SOURCE_DIR) + "/" + path);
  for (const auto& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  return run_command(cmd);
}

/// Runs tests/interop/<script> with `args`, capturing stdout and stderr.
inline ScriptResult run_script(const std::string& script, const std::vector<std::string>& args) {
  return run_python("tests/interop/" + script, args);
}

}  // namespace wick::testing

/// Skips the test when Python or one of its modules is missing (fails when WICK_REQUIRE_PEERS
/// is 1), and fails it when the script fails.
#define WICK_EXPECT_SCRIPT_OK(result)                                                  \
  do {                                                                                 \
    const auto& wick_r_ = (result);                                                    \
    if (wick_r_.missing_python()) {                                                    \
      if (::wick::testing::peers_required()) {                                         \
        FAIL() << "python3 with torch and numpy is required (WICK_REQUIRE_PEERS=1): "  \
               << wick_r_.output;                                                      \
      }                                                                                \
      GTEST_SKIP() << "python3 with torch and numpy not available (" << wick_r_.output \
                   << "); install them with: sudo bash scripts/deps.sh --peers";       \
    }                                                                                  \
    ASSERT_EQ(wick_r_.status, 0) << wick_r_.output;                                    \
  } while (false)

namespace wick::testing {

// ---------------------------------------------------------------------------------------------
// Zip archives built by hand (stored, or deflate made of stored blocks), so that hostile
// archives need neither libzip nor zlib in the tests.

inline uint32_t crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) {
    c ^= static_cast<uint8_t>(ch);
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

struct ZipMember {
  std::string name;
  std::string data;
  bool deflate = false;        // wrap data in deflate stored blocks
  int64_t declared_size = -1;  // uncompressed size to claim (-1: the true size)
};

inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

inline std::string make_zip(const std::vector<ZipMember>& members) {
  std::string out;
  std::string central;
  for (const ZipMember& m : members) {
    std::string body = m.data;
    if (m.deflate) {
      body.clear();
      std::size_t at = 0;
      do {
        const std::size_t n = std::min<std::size_t>(m.data.size() - at, 65535);
        const bool last = at + n == m.data.size();
        body += static_cast<char>(last ? 1 : 0);
        put_le(body, n, 2);
        put_le(body, ~n & 0xFFFF, 2);
        body.append(m.data, at, n);
        at += n;
      } while (at < m.data.size());
    }
    const uint32_t crc = crc32(m.data);
    const uint64_t usize =
        m.declared_size >= 0 ? static_cast<uint64_t>(m.declared_size) : m.data.size();
    const uint64_t offset = out.size();
    const auto common = [&](std::string& h) {
      put_le(h, 20, 2);                 // version needed
      put_le(h, 0, 2);                  // flags
      put_le(h, m.deflate ? 8 : 0, 2);  // method
      put_le(h, 0, 2);                  // time
      put_le(h, 0x21, 2);               // date: 1980-01-01
      put_le(h, crc, 4);
      put_le(h, body.size(), 4);
      put_le(h, usize, 4);
      put_le(h, m.name.size(), 2);
      put_le(h, 0, 2);  // extra length
    };
    put_le(out, 0x04034b50, 4);
    common(out);
    out += m.name;
    out += body;
    put_le(central, 0x02014b50, 4);
    put_le(central, 20, 2);  // version made by
    common(central);
    put_le(central, 0, 2);  // comment length
    put_le(central, 0, 2);  // disk
    put_le(central, 0, 2);  // internal attributes
    put_le(central, 0, 4);  // external attributes
    put_le(central, offset, 4);
    central += m.name;
  }
  const uint64_t cd_offset = out.size();
  out += central;
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, members.size(), 2);
  put_le(out, members.size(), 2);
  put_le(out, central.size(), 4);
  put_le(out, cd_offset, 4);
  put_le(out, 0, 2);
  return out;
}

/// A torch.save-shaped archive: archive/data.pkl, archive/data/<key> for each storage, version.
inline std::string make_pt(const std::string& pickle,
                           const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<ZipMember> m{{"archive/data.pkl", pickle}};
  for (const auto& [key, bytes] : storages)
    m.push_back({"archive/data/" + key, bytes});
  m.push_back({"archive/version", "3\n"});
  return make_zip(m);
}

/// Offsets of each member's data in a zip written by anyone, found by walking local headers.
inline std::vector<std::pair<std::string, uint64_t>> zip_data_offsets(const std::string& zip) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::size_t at = 0;
  const auto u16 = [&](std::size_t p) {
    return static_cast<uint64_t>(static_cast<uint8_t>(zip[p])) |
           static_cast<uint64_t>(static_cast<uint8_t>(zip[p + 1])) << 8;
  };
  const auto u32 = [&](std::size_t p) { return u16(p) | u16(p + 2) << 16; };
  while (at + 30 <= zip.size() && u32(at) == 0x04034b50) {
    const uint64_t csize = u32(at + 18);
    const uint64_t name_len = u16(at + 26);
    const uint64_t extra_len = u16(at + 28);
    const std::string name = zip.substr(at + 30, name_len);
    const uint64_t data = at + 30 + name_len + extra_len;
    out.emplace_back(name, data);
    at = static_cast<std::size_t>(data + csize);
  }
  return out;
}

// Byte `offset` of `member`'s (stored) data changed: reading that member fails its CRC-32. The
// local header (APPNOTE 4.3.7) gives where the data starts: 30 bytes, the name, the extra field.
inline void damage_zip_member(const std::filesystem::path& file, const std::string& member,
                              std::size_t offset = 0) {
  std::vector<char> bytes = read_bytes(file);
  const std::string text(bytes.begin(), bytes.end());
  const std::size_t name = text.find(member);  // the local header's copy comes first
  ASSERT_NE(name, std::string::npos) << member;
  const std::size_t header = text.rfind("PK\x03\x04", name);
  ASSERT_EQ(header + 30, name);
  const auto u16 = [&](std::size_t at) {
    return static_cast<std::size_t>(static_cast<uint8_t>(bytes[at])) |
           static_cast<std::size_t>(static_cast<uint8_t>(bytes[at + 1])) << 8;
  };
  const std::size_t data = header + 30 + u16(header + 26) + u16(header + 28) + offset;
  bytes.at(data) = static_cast<char>(bytes[data] ^ 0x01);
  write_bytes(file, bytes);
}

}  // namespace wick::testing
