#include <ostream>

#include "commands.h"
#include "errors.h"
#include "text.h"
#include "wick/io/formats.h"

namespace wick::cli {

int run_convert(const std::string& in, const std::string& out_path, const std::string& to,
                std::ostream& out) {
  std::optional<io::FileFormat> format;
  if (!to.empty()) {
    format = io::format_from_name(to);
    if (!format) throw Failure(kUsage, "convert: unknown format '" + shown(to) + "'");
  }
  // Errors reading IN name it; errors writing OUT are IoErrors that name OUT themselves.
  const io::FileFormat from = on_file(in, [&] { return io::detect_format(in); });
  on_file(in, [&] { io::convert(in, out_path, format); });
  const io::FileFormat written =
      format ? *format : io::format_from_extension(out_path).value_or(io::FileFormat::Wick);
  out << "converted " << shown(in, kMaxMessageBytes, Escape::kLine) << " (" << io::format_name(from)
      << ") to " << shown(out_path, kMaxMessageBytes, Escape::kLine) << " ("
      << io::format_name(written) << ")\n";
  return kOk;
}

}  // namespace wick::cli
