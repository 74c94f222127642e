#include "scratch_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "errors.h"

namespace wick::cli {

ScratchDir::ScratchDir(const std::string& tag, const std::string& doing) {
  std::error_code ec;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  if (ec) {
    throw Failure(kUnreadable, "cannot " + doing + ": no temporary directory (" + ec.message() +
                                   "; set TMPDIR to one)");
  }
  // The template mkdtemp(3) takes: it replaces the six X with random characters and makes the
  // directory (mode 0700).
  std::string name = (tmp / ("wick-" + tag + "-XXXXXX")).string();
  if (::mkdtemp(name.data()) == nullptr) {
    throw Failure(kUnreadable, "cannot " + doing + ": cannot make a directory in " + tmp.string() +
                                   " (" + std::strerror(errno) + ")");
  }
  path_ = name;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;  // a destructor must not throw; a leftover temp file is all that can go wrong
  std::filesystem::remove_all(path_, ec);
}

}  // namespace wick::cli
