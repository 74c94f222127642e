#include "native/parse.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <sys/mman.h>

#include "native/worker.h"
#include "wick/core/error.h"

namespace wick::io::detail {

namespace {
constexpr std::size_t kReadChunk = std::size_t{128} << 10;
// Without a known size, a hostile stream could claim a huge payload: allocate at most this much
// ahead of the bytes actually received.
constexpr uint64_t kUnknownSizeStep = uint64_t{64} << 20;
class Reporter {
 public:
  Reporter(const ProgressFn& fn, const Source& src) : fn_(fn), src_(src) {}
  void operator()() const {
    if (fn_) fn_(src_.position(), src_.size().value_or(0));
  }

 private:
  const ProgressFn& fn_;
  const Source& src_;
};

// Reads `n` bytes into a fresh 64-byte-aligned storage (or borrows them from a mapping),
// hashing each chunk right after it arrives.
std::shared_ptr<Storage> take(Source& src, uint64_t n, Hasher* h, const Reporter& report,
                              const char* what, Worker* faulting = nullptr) {
  if (auto borrowed = src.borrow(static_cast<std::size_t>(n), what)) {
    if (h != nullptr) {
      for (uint64_t done = 0; done < n; done += kReadChunk) {
        h->update(borrowed->data() + done,
                  static_cast<std::size_t>(std::min<uint64_t>(kReadChunk, n - done)));
        report();
      }
    }
    return borrowed;
  }
  const std::optional<uint64_t> size = src.size();
  if (size && n > *size - std::min(*size, src.position())) {
    format_error(src.position(), what,
                 wick::detail::cat("truncated: claims ", n, " bytes, only ",
                                   *size - std::min(*size, src.position()), " remain in the file"));
  }
  // Grow geometrically when the size is unknown, so memory follows the bytes received.
  uint64_t capacity = size ? n : std::min(n, kUnknownSizeStep);
  auto storage = Storage::allocate(static_cast<std::size_t>(capacity));
  // Declared after `storage`: the faulting is over before the storage can go, whatever is thrown.
  // Nothing to wait for (no lock taken) for the many payloads too small to fault in ahead.
  const DrainOnExit faulting_done(
      capacity == n && prefault(faulting, storage->data(), n) ? faulting : nullptr);
  uint64_t done = 0;
  while (done < n) {
    if (done == capacity) {
      capacity = std::min(n, capacity * 2);
      auto bigger = Storage::allocate(static_cast<std::size_t>(capacity));
      std::memcpy(bigger->data(), storage->data(), static_cast<std::size_t>(done));
      storage = std::move(bigger);
    }
    const auto c = static_cast<std::size_t>(std::min<uint64_t>(kReadChunk, capacity - done));
    src.read_exact(storage->data() + done, c, what);
    if (h != nullptr) h->update(storage->data() + done, c);
    done += c;
    report();
  }
  return storage;
}

// Consumes `n` bytes, hashing them when asked; `bool_name` set: they must be 0 or 1.
void skip(Source& src, uint64_t n, Hasher* h, const Reporter& report, const char* what,
          const std::string* bool_name = nullptr) {
  std::vector<std::byte> scratch(static_cast<std::size_t>(std::min<uint64_t>(n, kReadChunk)));
  for (uint64_t done = 0; done < n;) {
    const auto c = static_cast<std::size_t>(std::min<uint64_t>(kReadChunk, n - done));
    const uint64_t at = src.position();
    src.read_exact(scratch.data(), c, what);
    if (h != nullptr) h->update(scratch.data(), c);
    if (bool_name != nullptr) check_bool_payload(scratch.data(), c, at, *bool_name, done);
    done += c;
    report();
  }
}

// FORMAT.md "File header (64 bytes)": reads the file header, telling "not a wick file" from
// "truncated" when the data is short.
void read_file_header(Source& src, std::span<std::byte, kFileHeaderSize> header) {
  std::size_t got = 0;
  while (got < header.size()) {
    const std::size_t r = src.read_some(header.data() + got, header.size() - got);
    if (r == 0) break;
    got += r;
  }
  if (got == header.size()) return;
  if (std::memcmp(header.data(), kMagic.data(), std::min(got, kMagic.size())) != 0) {
    format_error(0, "file header",
                 wick::detail::cat("not a wick file (", got, " bytes, bad magic)"));
  }
  format_error(
      0, "file header",
      wick::detail::cat("truncated: needs ", header.size(), " bytes, the data ends after ", got));
}

// FORMAT.md "Records": the pad64(P) zero bytes after a payload.
void read_padding(Source& src, uint64_t payload_size, bool verify, const char* what) {
  std::byte pad[kAlign];
  const auto n = static_cast<std::size_t>(pad64(payload_size));
  const uint64_t at = src.position();
  src.read_exact(pad, n, what);
  if (verify) check_zero({pad, n}, at, what);
}
}  // namespace

void check_bool_payload(const std::byte* p, std::size_t n, uint64_t file_offset,
                        const std::string& name, uint64_t first_element) {
  if (const std::size_t i = first_non_bool(p, n); i < n) {
    format_error(file_offset + i, "bool tensor " + name,
                 wick::detail::cat("element ", first_element + i, " is byte ",
                                   static_cast<int>(p[i]), ", expected 0 or 1"),
                 "0 or 1", std::to_string(static_cast<int>(p[i])));
  }
}

void payload_checksum_error(const std::string& name, uint64_t record_offset, uint64_t expected,
                            uint64_t actual) {
  format_error(record_offset, "tensor " + name,
               wick::detail::cat("payload checksum mismatch: index says ", hex64(expected),
                                 ", the data hashes to ", hex64(actual), " (the file is corrupt)"),
               hex64(expected), hex64(actual));
}

namespace {

// FORMAT.md "How readers use this", streaming: the file header, the records in order up to the
// index (the last record), the trailer; then the index's tensor table against the records seen.
class StreamParser {
 public:
  StreamParser(Source& src, const ParseOptions& options)
      : src_(src), options_(options), report_(options.progress, src) {}

  Parsed run() {
    std::array<std::byte, kFileHeaderSize> header{};
    read_file_header(src_, header);
    out_.header = decode_file_header(header);
    try {
      return run_records();
    } catch (const FormatError& e) {
      rethrow_with_version(e, out_.header.version());
    }
  }

 private:
  // FORMAT.md "How readers use this", streaming: the records in order, the index, the trailer.
  Parsed run_records() {
    bool index_read = false;
    while (!index_read)
      index_read = read_record();  // the index is the last record
    read_trailer();
    out_.index = decode_index(std::move(index_payload_), index_offset_ + kIndexHeaderSize,
                              out_.header.version());
    check_table_against_records();
    if (options_.keep_payloads) out_.value = build_value(out_.index, out_.tensors);
    report_();  // the last bytes (index and trailer) are in too: done == total
    return std::move(out_);
  }

  // FORMAT.md "Records": one record, by its kind. True after the index record, the last one.
  bool read_record() {
    const uint64_t at = src_.position();
    std::array<std::byte, kMaxRecordHeader> hb{};
    src_.read_exact(hb.data(), kPrefixSize, "record header");
    const RecordPrefix p = decode_prefix(hb, at);
    src_.read_exact(hb.data() + kPrefixSize, p.header_size - kPrefixSize, "record header");
    const std::span<const std::byte> header(hb.data(), p.header_size);
    if (p.kind == kKindTensor) {
      tensor_record(at, header);
      return false;
    }
    // Every other kind: the header checksum, and the payload checksum at offset 16.
    check_header_checksum(header, at, record_header_name(p.kind));
    const auto stored = load_field<uint64_t, record::kPayloadChecksum>(header);
    if (p.kind == kKindIndex) {
      index_record(at, p, header, stored);
      return true;
    }
    optional_record(at, p, stored);
    return false;
  }

  // FORMAT.md "Kind 1: tensor": ids count up from 0 in file order; the payload is hashed while
  // it arrives, and its checksum (in the index) is compared once the index is read.
  void tensor_record(uint64_t at, std::span<const std::byte> header) {
    TensorEntry e;
    const uint32_t id = decode_tensor_header(header, at, e);
    if (id != records_.size()) {
      format_error(at + tensor_header::kId.offset, "tensor record",
                   wick::detail::cat("tensor id ", id, ", expected ", records_.size(),
                                     " (ids count up from 0)"));
    }
    hasher_.reset();
    Hasher* h = options_.verify ? &hasher_ : nullptr;
    std::shared_ptr<Storage> storage;
    if (options_.keep_payloads) {
      storage = take(src_, e.payload_size, h, report_, "tensor payload", &faulting_);
    } else {
      // Verifying without keeping the bytes: still every byte a load would refuse.
      const std::string name = e.dtype == kBool ? wick::detail::cat("#", id) : "";
      skip(src_, e.payload_size, h, report_, "tensor payload", e.dtype == kBool ? &name : nullptr);
    }
    if (storage && e.dtype == kBool) {
      check_bool_payload(storage->data(), storage->nbytes(), at + header.size(),
                         wick::detail::cat("#", id));
    }
    read_padding(src_, e.payload_size, options_.verify, "tensor padding");
    hashes_.push_back(options_.verify ? hasher_.digest() : 0);
    if (storage) {
      out_.tensors.emplace_back(std::move(storage), e.shape, contiguous_strides(e.shape), 0,
                                e.dtype);
    }
    records_.push_back(std::move(e));
  }

  // FORMAT.md "Kind 2: index": flags 0, H = 64, reserved bytes 0; the payload is kept for
  // decode_index() once the trailer has been checked.
  void index_record(uint64_t at, const RecordPrefix& p, std::span<const std::byte> header,
                    uint64_t stored) {
    namespace f = index_header;
    if (p.flags != 0 || p.header_size != kIndexHeaderSize) {
      format_error(at, "index record header", "index records have flags 0 and a 64-byte header");
    }
    check_zero(header.subspan(f::kReserved.offset, f::kReserved.size), at + f::kReserved.offset,
               "index record reserved bytes");
    auto storage = take(src_, p.payload_size, nullptr, report_, "index");
    index_payload_.assign(storage->data(), storage->data() + p.payload_size);
    hasher_.reset();
    hasher_.update(index_payload_.data(), index_payload_.size());
    if (hasher_.digest() != stored) {
      format_error(at, "index",
                   wick::detail::cat("payload checksum mismatch: stored ", hex64(stored),
                                     ", computed ", hex64(hasher_.digest())));
    }
    read_padding(src_, p.payload_size, true, "index padding");
    index_offset_ = at;
    index_checksum_ = stored;
  }

  // FORMAT.md "Records": a kind this reader does not know is skipped when marked optional,
  // after its payload checksum is verified; otherwise the file is refused.
  void optional_record(uint64_t at, const RecordPrefix& p, uint64_t stored) {
    if ((p.flags & kFlagOptional) == 0) {
      format_error(at, "record header",
                   wick::detail::cat("unknown required record kind ", p.kind,
                                     " (written by a newer wick?)"));
    }
    // As take() does for the other payloads: one the file cannot hold is refused at its start.
    const std::optional<uint64_t> size = src_.size();
    if (const uint64_t left = size ? *size - std::min(*size, src_.position()) : 0;
        size && p.payload_size > left) {
      format_error(src_.position(), "optional record",
                   wick::detail::cat("truncated: claims ", p.payload_size, " bytes, only ", left,
                                     " remain in the file"));
    }
    hasher_.reset();
    skip(src_, p.payload_size, &hasher_, report_, "optional record");
    if (p.payload_size > 0 && hasher_.digest() != stored) {
      format_error(at, wick::detail::cat("optional record (kind ", p.kind, ")"),
                   wick::detail::cat("payload checksum mismatch: stored ", hex64(stored),
                                     ", computed ", hex64(hasher_.digest())));
    }
    read_padding(src_, p.payload_size, options_.verify, "record padding");
  }

  // FORMAT.md "Trailer (64 bytes)": it must match the index and header just read, and a file
  // ends with it.
  void read_trailer() {
    std::array<std::byte, kTrailerSize> tb{};
    const uint64_t trailer_at = src_.position();
    src_.read_exact(tb.data(), tb.size(), "trailer");
    const Trailer t = decode_trailer(tb, trailer_at);
    const uint64_t end = trailer_at + kTrailerSize;
    if (t.index_offset != index_offset_ || t.file_size != end ||
        t.index_checksum != index_checksum_ || t.major != out_.header.major ||
        t.minor != out_.header.minor) {
      format_error(
          trailer_at, "trailer",
          wick::detail::cat("does not match the file: index at ", t.index_offset, " (found at ",
                            index_offset_, "), size ", t.file_size, " (found ", end, ")"));
    }
    // A stream may carry more data after the trailer; a file ends with it. Otherwise a file
    // could hold one complete wick file followed by another that random access would read.
    if (const std::optional<uint64_t> size = src_.size(); size && *size != end) {
      format_error(
          trailer_at, "trailer",
          wick::detail::cat(*size - end, " unexpected bytes after the trailer (it ends at ", end,
                            ", the file is ", *size, " bytes)"));
    }
  }

  // FORMAT.md "Kind 2: index", part 3: each row must agree with the record it points to, and
  // each payload with the checksum the row holds.
  void check_table_against_records() const {
    const Index& index = out_.index;
    if (index.tensors.size() != records_.size()) {
      format_error(index_offset_, "index",
                   wick::detail::cat("lists ", index.tensors.size(), " tensors but the file holds ",
                                     records_.size()));
    }
    for (std::size_t i = 0; i < records_.size(); ++i) {
      const TensorEntry& row = index.tensors[i];
      const TensorEntry& rec = records_[i];
      if (row.record_offset != rec.record_offset || row.dtype != rec.dtype ||
          row.shape != rec.shape) {
        format_error(
            rec.record_offset, "tensor " + tensor_name(index, static_cast<uint32_t>(i)),
            wick::detail::cat("index row (offset ", row.record_offset, ", ", dtype_name(row.dtype),
                              " ", shape_str(row.shape), ") disagrees with the record (offset ",
                              rec.record_offset, ", ", dtype_name(rec.dtype), " ",
                              shape_str(rec.shape), ")"));
      }
      if (options_.verify && hashes_[i] != row.checksum) {
        payload_checksum_error(tensor_name(index, static_cast<uint32_t>(i)), rec.record_offset,
                               row.checksum, hashes_[i]);
      }
    }
  }

  Source& src_;
  const ParseOptions& options_;
  const Reporter report_;
  Worker faulting_;  // see kPrefaultFrom; started by the first payload that big
  Parsed out_;
  std::vector<TensorEntry> records_;  // what the tensor records themselves said
  std::vector<uint64_t> hashes_;      // their payloads' hashes (0 when not verifying)
  Hasher hasher_;
  uint64_t index_offset_ = 0;
  std::vector<std::byte> index_payload_;
  uint64_t index_checksum_ = 0;
};

}  // namespace

Parsed parse_stream(Source& src, const ParseOptions& options) {
  try {
    return StreamParser(src, options).run();
  } catch (const FormatError& e) {
    if (options.name.empty()) throw;
    rethrow_naming_file(e, options.name);
  }
}

}  // namespace wick::io::detail
