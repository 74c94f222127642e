#pragma once
// A private temporary directory for files a command needs on disk for a while (standard input's
// copy, an .npz unpacked for a streamed convert): made in TMPDIR (or /tmp), removed with
// everything in it when the object goes, on success or failure alike.

#include <filesystem>
#include <string>

namespace wick::cli {

/// A fresh directory under the temporary directory, named `wick-<tag>-` and six random
/// characters (made by mkdtemp(3)).
/// Failure(kUnreadable) "cannot <doing>: ..." when there is none or it cannot be made.
class ScratchDir {
 public:
  ScratchDir(const std::string& tag, const std::string& doing);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace wick::cli
