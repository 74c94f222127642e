#include "wick/core/error.h"

namespace wick {

std::string render(const ErrorInfo& info, bool name_source) {
  if (info.subject.empty()) return info.detail;
  std::string out;
  const auto part = [&out](const char* separator, const std::string& text) {
    if (!out.empty()) out.append(separator);
    out.append(text);
  };
  if (name_source) {
    part("", info.subject);
    if (!info.file.empty()) part(" ", info.file);
  }
  if (!info.structure.empty()) part(": ", info.structure);
  if (info.offset) part(" ", "at offset " + std::to_string(*info.offset));
  if (out.empty()) return info.detail;
  out.append(": ");
  out.append(info.detail);
  return out;
}

}  // namespace wick
