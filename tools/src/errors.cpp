#include "errors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "source.h"
#include "wick/io/formats.h"
#include "wick/io/sharded/sharded_reader.h"

namespace wick::cli {

const char* const kExitCodeHelp =
    "Exit codes:\n"
    "  0  success (verify: every file intact; diff: the files are equal)\n"
    "  1  diff: the files differ\n"
    "  2  usage error, or no such path inside the file (convert: or OUT's format cannot\n"
    "     hold what IN holds)\n"
    "  3  a file is missing or cannot be read (convert: or OUT cannot be written)\n"
    "  4  a file is in no format wick reads (wick, PyTorch .pt, safetensors, .npy, .npz)\n"
    "  5  a file is corrupt or refused: a checksum or structural rule fails, or the library\n"
    "     refuses what it holds (a pickle naming a global it does not allow, an object array)\n"
    "  6  any other error (out of memory, internal error)\n";

namespace {
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file wick reads";
}
}  // namespace

bool has_wick_magic(const std::filesystem::path& file) {
  static constexpr std::array<char, 8> kMagic = {'\x89', 'W', 'I', 'C', 'K', '\r', '\n', '\x1a'};
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  std::array<char, 8> head{};
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const ssize_t got = regular ? ::pread(fd, head.data(), head.size(), 0) : -1;
  ::close(fd);
  return got == static_cast<ssize_t>(head.size()) && head == kMagic;
}

void check_regular_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
  if (S_ISDIR(st.st_mode) && io::is_sharded_checkpoint(file)) {
    throw Failure(kUsage, file.string() + " is a sharded checkpoint directory; only " +
                              std::string(kShardedCommands) + " read one");
  }
  throw Failure(kUnreadable, "cannot read " + file.string() + ": not a regular file (" +
                                 file_kind(st.st_mode) + ")");
}

std::string without_file_name(const Error& e) {
  return render(e.info(), false);
}

std::string sharded_file(const std::filesystem::path& dir, const Error& e) {
  if (e.info().file.empty()) return {};
  const std::filesystem::path file = std::filesystem::path(e.info().file).lexically_normal();
  const std::filesystem::path inside = file.lexically_relative(dir.lexically_normal());
  const bool relative = !inside.empty() && *inside.begin() != "..";
  return (relative ? inside : file).string();
}

std::string sharded_message(const std::filesystem::path& dir, const Error& e) {
  const std::string file = sharded_file(dir, e);
  const std::string rest = render(e.info(), false);
  return file.empty() ? rest : file + ": " + rest;
}

Failure sharded_failure(const std::filesystem::path& dir, const IoError& e) {
  return {kUnreadable, "cannot read " + dir.string() + ": " + sharded_message(dir, e)};
}

Failure sharded_failure(const std::filesystem::path& dir, const FormatError& e) {
  return {kCorrupt, dir.string() + " is corrupt: " + sharded_message(dir, e)};
}

Failure file_failure(const std::filesystem::path& file, const IoError& e) {
  return {kUnreadable, "cannot read " + file.string() + ": " + e.what()};
}

Failure file_failure(const std::filesystem::path& file, const FormatError& e) {
  std::optional<io::FileFormat> format;
  try {
    format = io::recognise_format(file);
  } catch (const Error&) {
    // Recognised but unusable (a zip that is neither a checkpoint nor an npz): e says why.
    return {kCorrupt, file.string() + " is corrupt: " + without_file_name(e)};
  }
  if (!format)
    return {kNotWick, file.string() + " is not a file wick reads: " + without_file_name(e)};
  if (*format == io::FileFormat::Wick) {
    return {kCorrupt, file.string() + " is corrupt: " + without_file_name(e)};
  }
  // The library's own words: a refusal ("unsupported global 'posix.system' ...") or the rule
  // the file breaks, with its offset.
  return {kCorrupt, file.string() + " (" + std::string(format_label(*format)) +
                        ") is corrupt or refused: " + without_file_name(e)};
}

}  // namespace wick::cli
