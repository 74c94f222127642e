#include "wick/io/serialize.h"

#include "wick/io/sharded/sharded_reader.h"

#include "common/file.h"
#include "formats.h"
#include "native/format.h"
#include "native/parse.h"
#include "native/views.h"
#include "wick/core/error.h"
#include "wick/io/native/reader.h"
#include "wick/io/native/writer.h"

namespace wick {

namespace {
// FORMAT.md "Version history": save() writes the oldest version that holds the value and
// what it shares.
SaveOptions with_version(SaveOptions options, io::detail::Version v) {
  options.format_major = v.major;
  options.format_minor = v.minor;
  return options;
}

template <class Out>
void save_value(const Value& value, Out& out, const SaveOptions& options) {
  if (options.format_major == 0 && options.format_minor == 0) {
    const io::detail::Version v = io::detail::required_version(value);
    if (v > io::detail::kVersion1) {
      io::Writer writer(out, with_version(options, v));
      writer.finish(value);
      return;
    }
  }
  io::Writer writer(out, options);
  writer.finish(value);
}

template <class Out>
void save_tensors(const TensorDict& tensors, Out& out, const SaveOptions& options) {
  if (options.format_major == 0 && options.format_minor == 0 &&
      io::detail::ViewPlan(tensors).any()) {
    io::Writer writer(out, with_version(options, io::detail::kVersionViews));
    writer.finish(tensors);
    return;
  }
  io::Writer writer(out, options);
  writer.finish(tensors);
}
}  // namespace

void save(const Value& value, const std::filesystem::path& path, const SaveOptions& options) {
  save_value(value, path, options);
}

void save(const Value& value, std::ostream& out, const SaveOptions& options) {
  save_value(value, out, options);
}

void save(const TensorDict& tensors, const std::filesystem::path& path,
          const SaveOptions& options) {
  save_tensors(tensors, path, options);
}

void save(const TensorDict& tensors, std::ostream& out, const SaveOptions& options) {
  save_tensors(tensors, out, options);
}

Value load(const std::filesystem::path& path, const LoadOptions& options) {
  if (io::is_sharded_checkpoint(path)) return io::load_sharded(path, options);
  // Formats are told apart by content. Whatever is not recognised is read as wick, whose
  // reader explains what is wrong with it.
  io::detail::File file(path);
  const auto foreign = [](const std::optional<io::FileFormat>& format) {
    return format.has_value() && *format != io::FileFormat::Wick;
  };
  if (options.mmap) {
    if (const auto format = io::detail::sniff_format(file, path); foreign(format)) {
      return io::detail::load_foreign(path, *format, true);
    }
    return io::Reader(path, options).value();
  }
  // The first read-ahead serves both the sniff and the parse: one read fewer per small file.
  io::detail::FileSource src(file);
  if (const auto format = io::detail::sniff_head(src.peek(16), path); foreign(format)) {
    return io::detail::load_foreign(path, *format, false);
  }
  return io::detail::parse_stream(src, {options.verify, true, options.progress, file.name()}).value;
}

Value load(std::istream& in, const LoadOptions& options) {
  WICK_CHECK(!options.mmap, ArgumentError, "load: mmap needs a file path, not a stream");
  io::detail::IstreamSource src(in);
  return io::detail::parse_stream(src, {options.verify, true, options.progress, {}}).value;
}

}  // namespace wick
