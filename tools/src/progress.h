#pragma once
// A progress bar on stderr for long reads.

#include <cstdint>
#include <iosfwd>
#include <string>

#include "wick/io/options.h"

namespace wick::cli {

/// When to draw the bar: auto draws it for files of at least kProgressMinBytes when stderr is
/// a terminal.
enum class ProgressMode { kAuto, kAlways, kNever };

inline constexpr uint64_t kProgressMinBytes = uint64_t{64} << 20;

/// Whether a file of `file_size` bytes gets a bar under `mode`.
bool want_progress(ProgressMode mode, uint64_t file_size);

/// One line of the bar: "label [#######.............]  35%  22.4 MiB / 64.0 MiB".
std::string progress_line(const std::string& label, uint64_t done, uint64_t total, int width = 30);

/// Redraws the bar on `out` (with '\r') each time the percentage changes; erases it when
/// destroyed so the report that follows starts on a clean line.
class ProgressBar {
 public:
  ProgressBar(std::ostream& out, std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(uint64_t done, uint64_t total);
  /// A ProgressFn that feeds this bar.
  ProgressFn callback();

 private:
  std::ostream& out_;
  std::string label_;
  int last_percent_ = -1;
  std::size_t last_width_ = 0;
};

}  // namespace wick::cli
