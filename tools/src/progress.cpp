#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "table.h"

namespace wick::cli {

bool want_progress(ProgressMode mode, uint64_t file_size) {
  switch (mode) {
    case ProgressMode::kAlways:
      return true;
    case ProgressMode::kNever:
      return false;
    case ProgressMode::kAuto:
      break;
  }
  return file_size >= kProgressMinBytes && ::isatty(STDERR_FILENO) == 1;
}

namespace {
int percent(uint64_t done, uint64_t total) {
  if (total == 0) return 0;
  return static_cast<int>(static_cast<double>(std::min(done, total)) * 100.0 /
                          static_cast<double>(total));
}
}  // namespace

std::string progress_line(const std::string& label, uint64_t done, uint64_t total, int width) {
  const int p = percent(done, total);
  const int filled = p * width / 100;
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", p);
  return label + " [" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(width - filled), '.') + "] " + pct + "  " +
         human_bytes(std::min(done, total)) + " / " + human_bytes(total);
}

ProgressBar::ProgressBar(std::ostream& out, std::string label)
    : out_(out), label_(std::move(label)) {}

ProgressBar::~ProgressBar() {
  if (last_width_ > 0) out_ << '\r' << std::string(last_width_, ' ') << '\r' << std::flush;
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  const int p = percent(done, total);
  if (p == last_percent_) return;
  last_percent_ = p;
  const std::string line = progress_line(label_, done, total);
  out_ << '\r' << line << std::flush;
  last_width_ = std::max(last_width_, line.size());
}

ProgressFn ProgressBar::callback() {
  return [this](uint64_t done, uint64_t total) { update(done, total); };
}

}  // namespace wick::cli
