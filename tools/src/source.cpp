#include "source.h"

#include <system_error>

#include "errors.h"
#include "wick/io/interop/safetensors.h"
#include "wick/io/native/reader.h"
#include "wick/io/serialize.h"

namespace wick::cli {

std::string_view format_label(io::FileFormat format) {
  switch (format) {
    case io::FileFormat::Wick:
      return "wick";
    case io::FileFormat::PyTorch:
      return "PyTorch zip (torch.save)";
    case io::FileFormat::Safetensors:
      return "safetensors";
    case io::FileFormat::Npy:
      return "NumPy .npy";
    case io::FileFormat::Npz:
      return "NumPy .npz (zip)";
  }
  return io::format_name(format);
}

std::string_view foreign_checks(io::FileFormat format) {
  switch (format) {
    case io::FileFormat::PyTorch:
      return "zip structure, every member's CRC-32 and the pickle checked";
    case io::FileFormat::Npz:
      return "zip structure, every member's CRC-32 and every .npy header checked";
    case io::FileFormat::Safetensors:
      return "header and byte ranges checked; safetensors has no checksums, so damaged tensor "
             "data cannot be detected";
    case io::FileFormat::Npy:
      return "header and size checked; .npy has no checksums, so damaged tensor data cannot be "
             "detected";
    case io::FileFormat::Wick:
      break;
  }
  return "every checksum matches";
}

void check_not_empty(const std::string& file) {
  std::error_code ec;
  const bool empty = std::filesystem::is_regular_file(file, ec) &&
                     std::filesystem::file_size(file, ec) == 0 && !ec;
  if (empty) throw Failure(kNotWick, file + " is empty (0 bytes): there is nothing to read");
}

io::FileFormat detect(const std::string& file) {
  check_regular_file(file);
  check_not_empty(file);
  return on_file(file, [&] { return io::detect_format(file); });
}

Loaded load_any(const std::string& file) {
  const io::FileFormat format = detect(file);
  return on_file(file, [&] {
    Loaded l;
    l.format = format;
    if (format == io::FileFormat::Wick) {
      LoadOptions options;
      options.mmap = true;
      io::Reader reader(file, options);
      l.root = reader.value();
      l.metadata = reader.metadata();
    } else if (format == io::FileFormat::Safetensors) {
      l.root = io::load_safetensors(file, &l.metadata);
    } else {
      l.root = load(file);
    }
    return l;
  });
}

}  // namespace wick::cli
