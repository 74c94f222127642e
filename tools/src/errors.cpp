#include "errors.h"

#include <array>
#include <fstream>
#include <string>
#include <string_view>

namespace wick::cli {

const char* const kExitCodeHelp =
    "Exit codes:\n"
    "  0  success (verify: every file intact; diff: the files are equal)\n"
    "  1  diff: the files differ\n"
    "  2  usage error, or no such path inside the file\n"
    "  3  a file is missing or cannot be read\n"
    "  4  a file is not a wick file\n"
    "  5  a wick file is corrupt (checksum or structural error)\n"
    "  6  any other error (out of memory, internal error)\n";

bool has_wick_magic(const std::filesystem::path& file) {
  static constexpr std::array<char, 8> kMagic = {'\x89', 'W', 'I', 'C', 'K', '\r', '\n', '\x1a'};
  std::array<char, 8> head{};
  std::ifstream in(file, std::ios::binary);
  in.read(head.data(), head.size());
  return in.gcount() == static_cast<std::streamsize>(head.size()) && head == kMagic;
}

std::string without_file_name(std::string_view message, const std::filesystem::path& file) {
  const std::string named = "wick file " + file.string();
  if (message.starts_with(named)) {
    message.remove_prefix(named.size());
    if (message.starts_with(":")) message.remove_prefix(1);
    if (message.starts_with(" ")) message.remove_prefix(1);
  }
  return std::string(message);
}

Failure file_failure(const std::filesystem::path& file, const IoError& e) {
  return {kUnreadable, "cannot read " + file.string() + ": " + e.what()};
}

Failure file_failure(const std::filesystem::path& file, const FormatError& e) {
  if (!has_wick_magic(file)) {
    return {kNotWick,
            file.string() + " is not a wick file (it does not start with \\x89WICK\\r\\n\\x1a)"};
  }
  return {kCorrupt, file.string() + " is corrupt: " + without_file_name(e.what(), file)};
}

}  // namespace wick::cli
