// Hand-built hostile files: valid checksums everywhere, so that only the structural rules of
// io/FORMAT.md stand between the bytes and the reader. Every case must end in the right
// wick::Error subclass and message — never a crash, a hang or a huge allocation.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bounds_testing.h"
#include "conformance_testing.h"
#include "fuzz/fuzz_harness.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::TempDir;

// ---------------------------------------------------------------------------------------------
// Raw little-endian bytes, per io/FORMAT.md.

class Bytes {
 public:
  Bytes& u8(uint8_t v) {
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& u16(uint16_t v) { return raw(&v, 2); }
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& i64(int64_t v) { return raw(&v, 8); }
  /// A format string: u32 length, then the bytes.
  Bytes& str(std::string_view v) {
    u32(static_cast<uint32_t>(v.size()));
    s_.append(v);
    return *this;
  }
  Bytes& raw(const void* p, std::size_t n) {
    s_.append(static_cast<const char*>(p), n);
    return *this;
  }
  Bytes& raw(std::string_view v) { return raw(v.data(), v.size()); }
  Bytes& raw(const Bytes& b) {
    s_ += b.s_;
    return *this;
  }
  Bytes& zeros(std::size_t n) {
    s_.append(n, '\0');
    return *this;
  }
  /// Zero bytes up to the next multiple of 64.
  Bytes& pad64() { return zeros((64 - s_.size() % 64) % 64); }
  /// Appends the XXH3 of every byte from `from` on: how each header ends.
  Bytes& seal(std::size_t from) { return u64(io::checksum(s_.data() + from, s_.size() - from)); }
  std::size_t size() const { return s_.size(); }
  const std::string& str() const { return s_; }
  std::string& str() { return s_; }

 private:
  std::string s_;
};

// Value encodings (FORMAT.md "Values").
Bytes none() {
  return Bytes().u8(0);
}
Bytes integer(int64_t v) {
  return Bytes().u8(3).i64(v);
}
Bytes text(std::string_view v) {
  return Bytes().u8(5).str(v);
}
Bytes tensor_ref(uint32_t id) {
  return Bytes().u8(6).u32(id);
}
Bytes list(uint32_t count) {
  return Bytes().u8(7).u32(count);
}
Bytes dict(uint32_t count) {
  return Bytes().u8(8).u32(count);
}
// Since 2.0.
Bytes tuple(uint32_t count) {
  return Bytes().u8(9).u32(count);
}
Bytes keyed_dict(uint32_t count) {
  return Bytes().u8(10).u32(count);
}
// Since 2.1: a reference to a row of the view table.
Bytes view_ref(uint32_t id) {
  return Bytes().u8(11).u32(id);
}
/// A tag-10 dict's keys: an int (tag 3) or a string (tag 5), exactly like those values.
Bytes int_key(int64_t v) {
  return integer(v);
}
Bytes str_key(std::string_view v) {
  return text(v);
}
/// A dict of one tensor: {key: tensor id}.
Bytes dict_of(std::string_view key, uint32_t id) {
  return dict(1).str(key).raw(tensor_ref(id));
}
Bytes no_metadata() {
  return Bytes().u32(0);
}

constexpr uint8_t kCodeBool = 0;
constexpr uint8_t kCodeUInt8 = 1;
constexpr uint8_t kCodeFloat32 = 8;

// One row of the index's tensor table.
struct Row {
  uint64_t offset = 0;
  uint64_t payload_size = 0;
  uint64_t checksum = 0;
  uint8_t code = kCodeFloat32;
  std::vector<uint64_t> sizes;
};

// One row of the index's view table (2.1).
struct ViewRow {
  uint32_t record = 0;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  std::vector<uint64_t> strides;
};

// A tensor record as the test wants it, valid unless told otherwise.
struct TensorRecord {
  TensorRecord(uint8_t dtype_code, std::vector<uint64_t> dims, std::string bytes)
      : code(dtype_code), sizes(std::move(dims)), payload(std::move(bytes)) {}
  /// The payload size field claims `n` bytes, whatever follows.
  TensorRecord& claiming(uint64_t n) {
    payload_size = n;
    return *this;
  }
  TensorRecord& with_id(uint32_t v) {
    id = v;
    return *this;
  }

  uint8_t code;
  std::vector<uint64_t> sizes;
  std::string payload;
  std::optional<uint32_t> id;            // default: the next id
  std::optional<uint64_t> payload_size;  // default: payload.size()
  uint16_t reserved = 0;                 // bytes 22-23
};

// Builds a file front to back the way FORMAT.md says, with real checksums. The fields the
// trailer takes are public so a test can lie in them.
class FileBuilder {
 public:
  explicit FileBuilder(uint16_t major = 1, uint16_t minor = 0) : major_(major), minor_(minor) {
    const uint8_t magic[8] = {0x89, 'W', 'I', 'C', 'K', '\r', '\n', 0x1a};
    b_.raw(magic, 8).u16(major).u16(minor).u32(0x01020304).u32(64).u32(0);
    std::string producer = "wick " + std::string(version());
    producer.resize(32, '\0');
    b_.raw(producer.data(), 32).seal(0);
  }

  /// Appends a tensor record; returns the table row that describes it.
  Row tensor(const TensorRecord& t) {
    const std::size_t at = b_.size();
    const auto rank = static_cast<uint8_t>(t.sizes.size());
    const std::size_t h = (32 + 8 * std::size_t{rank} + 63) / 64 * 64;
    const uint64_t payload_size = t.payload_size.value_or(t.payload.size());
    b_.u32(1).u16(0).u16(static_cast<uint16_t>(h)).u64(payload_size);
    b_.u32(t.id.value_or(next_id_++)).u8(t.code).u8(rank).u16(t.reserved);
    for (const uint64_t d : t.sizes)
      b_.u64(d);
    b_.zeros(at + h - 8 - b_.size()).seal(at);
    b_.raw(t.payload.data(), t.payload.size()).pad64();
    return Row{at, payload_size, io::checksum(t.payload.data(), t.payload.size()), t.code, t.sizes};
  }

  /// Appends a record of any kind with a 64-byte header and its payload checksum at 16.
  void record(uint32_t kind, uint16_t flags, std::string_view payload,
              std::optional<uint64_t> payload_checksum = {}) {
    const std::size_t at = b_.size();
    b_.u32(kind).u16(flags).u16(64).u64(payload.size());
    b_.u64(payload_checksum.value_or(io::checksum(payload.data(), payload.size())));
    b_.zeros(32).seal(at);
    b_.raw(payload.data(), payload.size()).pad64();
  }

  /// Appends the index record holding `payload` verbatim.
  void index_payload(const Bytes& payload) {
    index_offset = b_.size();
    index_checksum = io::checksum(payload.str().data(), payload.size());
    b_.u32(2).u16(0).u16(64).u64(payload.size()).u64(index_checksum).zeros(32);
    b_.seal(index_offset).raw(payload).pad64();
  }

  /// Appends the index record: metadata, value tree, tensor table, and in a file of 2.1 or
  /// later the view table.
  void index(const Bytes& metadata, const Bytes& tree, const std::vector<Row>& rows,
             const std::vector<ViewRow>& views = {}) {
    Bytes p;
    p.raw(metadata).raw(tree).u32(static_cast<uint32_t>(rows.size()));
    for (const Row& r : rows) {
      p.u64(r.offset).u64(r.payload_size).u64(r.checksum).u8(r.code);
      p.u8(static_cast<uint8_t>(r.sizes.size()));
      for (uint64_t d : r.sizes)
        p.u64(d);
    }
    if (major_ > 2 || (major_ == 2 && minor_ >= 1)) p.raw(view_table(views));
    index_payload(p);
  }

  /// FORMAT.md "Kind 2: index", part 4.
  static Bytes view_table(const std::vector<ViewRow>& views) {
    Bytes p;
    p.u32(static_cast<uint32_t>(views.size()));
    for (const ViewRow& v : views) {
      p.u32(v.record).u64(v.offset).u8(static_cast<uint8_t>(v.sizes.size()));
      for (uint64_t d : v.sizes)
        p.u64(d);
      for (uint64_t d : v.strides)
        p.u64(d);
    }
    return p;
  }

  /// Appends the trailer and returns the whole file.
  std::string finish() {
    const std::size_t at = b_.size();
    b_.u64(index_offset).u64(file_size.value_or(at + 64)).u64(index_checksum);
    b_.u16(trailer_major.value_or(major_)).u16(trailer_minor.value_or(minor_)).zeros(20);
    b_.seal(at).raw("WICKEND\n", 8);
    return b_.str();
  }

  Bytes& bytes() { return b_; }

  uint64_t index_offset = 0;
  uint64_t index_checksum = 0;
  std::optional<uint64_t> file_size;
  std::optional<uint16_t> trailer_major;
  std::optional<uint16_t> trailer_minor;

 private:
  Bytes b_;
  uint16_t major_;
  uint16_t minor_;
  uint32_t next_id_ = 0;
};

std::string f32_payload(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * 4);
}

// {"w": float32 [2] tensor} with `tree` and `rows` replaceable: the skeleton most cases bend.
// `major` is the version the header and trailer claim.
std::string one_tensor_file(const Bytes& metadata, const Bytes& tree,
                            std::optional<std::vector<Row>> rows = {}, uint16_t major = 1) {
  FileBuilder f(major);
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1.5f, -2.0f})});
  f.index(metadata, tree, rows.value_or(std::vector<Row>{r}));
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// Every way of reading a file.

class Loaders {
 public:
  explicit Loaders(const std::string& bytes) : bytes_(bytes), path_(dir_ / "hostile.wick") {
    testing::write_bytes(path_, {bytes.begin(), bytes.end()});
  }
  const std::filesystem::path& path() const { return path_; }

  Value stream(const LoadOptions& o = {}) const {
    std::istringstream in(bytes_);
    return load(in, o);
  }
  Value file(const LoadOptions& o = {}) const { return load(path_, o); }
  Value mmap() const {
    LoadOptions o;
    o.mmap = true;
    return load(path_, o);
  }
  Value reader_value() const { return io::Reader(path_).value(); }
  void reader_verify() const { io::Reader(path_).verify(); }

 private:
  std::string bytes_;
  TempDir dir_;
  std::filesystem::path path_;
};

// Every loader must refuse `bytes` with FormatError: the front-to-back ones (load(istream),
// load(path)) naming `stream_msg`, the Reader-based ones (load(path, mmap), Reader::value,
// Reader::verify, which check the trailer and index first) naming `reader_msg`.
// Refusing a hostile file may cost memory in proportion to the file, never to what it claims:
// the resident peak while refusing it stays under a few MiB plus a small multiple of its size
// (an index of one-byte values costs a few dozen bytes per value while it is checked).
constexpr uint64_t kRefusalMemory = uint64_t{16} << 20;
constexpr uint64_t kRefusalMemoryPerByte = 8;

// Counts for the summary CI prints: files refused by every loader, and the largest rise of
// the resident peak while refusing one.
struct RefusalCounts {
  int files = 0;
  uint64_t max_growth = 0;
};
RefusalCounts& refusal_counts() {
  static RefusalCounts counts;
  return counts;
}

class RefusalSummary : public ::testing::Environment {
 public:
  void TearDown() override {
    const RefusalCounts& c = refusal_counts();
    if (c.files == 0) return;
    std::printf(
        "hostile files: %d refused by all 5 loaders; resident peak rose by at most %.1f "
        "MiB while refusing one%s\n",
        c.files, static_cast<double>(c.max_growth) / (1 << 20),
        testing::kSanitized ? " (not measured under sanitizers)" : "");
  }
};
[[maybe_unused]] ::testing::Environment* const kRefusalSummary =
    ::testing::AddGlobalTestEnvironment(new RefusalSummary);

// The FormatError `fn` throws, after checking that its message holds `substring`.
ErrorInfo refusal(const std::function<void()>& fn, const std::string& substring) {
  try {
    fn();
    ADD_FAILURE() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << substring;
    return e.info();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected FormatError, got: " << e.what();
  }
  return {};
}

// Every refusal carries its data as fields: the file it read (none for a stream) and where the
// fault is — a byte offset or, for facts of the index, the structure at fault.
void expect_located(const ErrorInfo& info, const std::string& file) {
  EXPECT_EQ(info.file, file);
  EXPECT_TRUE(info.offset.has_value() || !info.structure.empty())
      << "a refusal that says neither where nor what: " << render(info);
}

// Files above this size stay out of tests/conformance (a few cases build megabytes to test
// bounds; the corpus keeps to a few MB).
constexpr std::size_t kMaxCorpusFile = std::size_t{64} << 10;

// With WICK_UPDATE_CONFORMANCE=1, every refused file goes to tests/conformance/invalid/ with
// what load(path) reports and, separately, what io::Reader reports (it checks the trailer and
// index first).
void write_invalid_case(const std::string& bytes, const ErrorInfo& load_info,
                        const ErrorInfo& reader_info) {
  // Files the path loaders take for another format (a zip, ...) are not about wick's bytes.
  if (bytes.size() > kMaxCorpusFile || load_info.subject != "wick file" ||
      reader_info.subject != "wick file") {
    return;
  }
  const std::string name = conformance::case_name("invalid");
  const auto dir = conformance::fresh_dir("invalid");
  conformance::write_file(dir / (name + ".wick"), bytes);
  const conformance::json doc = {{"kind", "format"},
                                 {"load", conformance::refusal_json(load_info)},
                                 {"reader", conformance::refusal_json(reader_info)}};
  conformance::write_file(dir / (name + ".json"), doc.dump(1) + "\n");
}

void expect_refused(const std::string& bytes, const std::string& stream_msg,
                    std::optional<std::string> reader_msg = {}) {
  const Loaders l(bytes);
  const std::string rmsg = reader_msg.value_or(stream_msg);
  const std::string path = l.path().string();
  const testing::PeakRss peak;
  expect_located(refusal([&] { l.stream(); }, stream_msg), "");
  const ErrorInfo front_to_back = refusal([&] { l.file(); }, stream_msg);
  expect_located(front_to_back, path);
  expect_located(refusal([&] { l.mmap(); }, rmsg), path);
  const ErrorInfo random_access = refusal([&] { l.reader_value(); }, rmsg);
  expect_located(random_access, path);
  expect_located(refusal([&] { l.reader_verify(); }, rmsg), path);
  ++refusal_counts().files;
  if (conformance::updating()) write_invalid_case(bytes, front_to_back, random_access);
  // Sanitizers keep freed memory in quarantine, so their resident peak says nothing here.
  if (peak.available() && !testing::kSanitized) {
    refusal_counts().max_growth = std::max(refusal_counts().max_growth, peak.growth());
    EXPECT_LT(peak.growth(), kRefusalMemory + kRefusalMemoryPerByte * bytes.size())
        << "refusing a " << bytes.size() << "-byte file raised the resident peak by "
        << peak.growth() << " bytes";
  }
}

// A refusal located by its fields: the loaders report `structure` at byte `offset`, with `detail`
// in the explanation. The Reader-based ones check the trailer and index first; given
// `reader_msg`, they find that fault instead and only the front-to-back loaders are located.
void expect_refused_at(const std::string& bytes, const std::string& structure, uint64_t offset,
                       const std::string& detail, std::optional<std::string> reader_msg = {}) {
  const Loaders l(bytes);
  std::vector<std::function<void()>> located{[&] { l.stream(); }, [&] { l.file(); }};
  if (!reader_msg) {
    located.insert(located.end(),
                   {[&] { l.mmap(); }, [&] { l.reader_value(); }, [&] { l.reader_verify(); }});
  }
  for (const std::function<void()>& load_it : located) {
    const ErrorInfo info = refusal(load_it, detail);
    EXPECT_EQ(info.structure, structure);
    EXPECT_EQ(info.offset, offset);
    EXPECT_NE(info.detail.find(detail), std::string::npos) << info.detail;
  }
  expect_refused(bytes, detail, reader_msg);
}

void expect_loads(const std::string& bytes, const Value& expected) {
  const Loaders l(bytes);
  EXPECT_EQ(l.stream(), expected);
  EXPECT_EQ(l.file(), expected);
  EXPECT_EQ(l.mmap(), expected);
  EXPECT_EQ(l.reader_value(), expected);
  EXPECT_NO_THROW(l.reader_verify());
  if (conformance::updating() && bytes.size() <= kMaxCorpusFile) {
    io::Reader r(l.path());
    conformance::write_valid(
        conformance::case_name("valid"), &bytes,
        conformance::to_plain(l.file(), r.metadata(), r.info().major, r.info().minor));
  }
}

// save(value) writes `bytes` byte for byte, but for the producer and the header checksum over it
// (24 to 63): the builder and the writer agree on the layout and the version (0 to 23).
void expect_saved_as(const Value& value, const std::string& bytes) {
  std::ostringstream out;
  save(value, out);
  const std::string saved = out.str();
  ASSERT_EQ(saved.size(), bytes.size());
  EXPECT_EQ(saved.substr(0, 24), bytes.substr(0, 24));
  EXPECT_EQ(saved.substr(64), bytes.substr(64));
}

Tensor f32(std::vector<float> v) {
  return from_vector(v);
}

// ---------------------------------------------------------------------------------------------
// The builder itself: it must produce exactly what wick writes, or the cases below test it.

TEST(Hostile, TheBuilderWritesWhatSaveWrites) {
  FileBuilder f;
  const Row w = f.tensor({kCodeFloat32, {2}, f32_payload({1.5f, -2.0f})});
  Bytes meta;
  meta.u32(1).str("epoch").raw(integer(3));
  f.index(meta, dict(2).str("w").raw(tensor_ref(0)).str("name").raw(text("mlp")), {w});
  const std::string built = f.finish();

  const Value v = Dict{{"w", f32({1.5f, -2.0f})}, {"name", "mlp"}};
  SaveOptions o;
  o.metadata = Dict{{"epoch", 3}};
  std::ostringstream out;
  save(v, out, o);
  EXPECT_EQ(built, out.str());
  expect_loads(built, v);
}

// ---------------------------------------------------------------------------------------------
// The file header and trailer.

TEST(Hostile, AnEmptyFileIsRefused) {
  const Loaders l("");
  for (const ErrorInfo& info :
       {refusal([&] { l.stream(); }, "truncated"), refusal([&] { l.file(); }, "truncated")}) {
    EXPECT_EQ(info.structure, "file header");
    EXPECT_EQ(info.offset, 0U);
  }
  WICK_EXPECT_THROW_MSG(l.mmap(), FormatError, "not a wick file (0 bytes");
  WICK_EXPECT_THROW_MSG(l.reader_value(), FormatError, "not a wick file (0 bytes");
}

TEST(Hostile, AFileOfOnlyTheHeaderIsRefused) {
  const std::string header = FileBuilder().bytes().str();
  ASSERT_EQ(header.size(), 64u);
  expect_refused_at(header, "record header", 64, "truncated",
                    "truncated: 64 bytes is less than the minimum 192");
}

TEST(Hostile, WrongMagicIsNotAWickFile) {
  std::string bytes = one_tensor_file(no_metadata(), dict_of("w", 0));
  bytes[1] = 'w';
  expect_refused(bytes, "not a wick file");
  // Short files and other formats too.
  expect_refused("hello, world\n", "not a wick file");
  expect_refused(std::string("\x89PNG\r\n\x1a\n") + std::string(300, '\0'), "not a wick file");
  expect_refused(std::string("PK\x03\x04", 4) + std::string(300, 'x'), "not a wick file");
}

TEST(Hostile, ANewerMajorVersionIsRefusedNamingBothVersions) {
  FileBuilder f(3, 0);
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.index(no_metadata(), dict_of("w", 0), {r});
  const std::string bytes = f.finish();
  expect_refused(bytes, "format version 3.0 is newer than this reader's 2.1");
  expect_refused(bytes, "upgrade wick");
}

TEST(Hostile, MajorVersionZeroIsRefused) {
  FileBuilder f(0, 7);
  f.index(no_metadata(), none(), {});
  expect_refused(f.finish(), "invalid format major version 0");
}

TEST(Hostile, ABigEndianFileIsRefusedByItsByteOrderMark) {
  // A big-endian writer would store every field big-endian, the checksum included; the
  // byte order mark must be what the reader reports, not a checksum or version mismatch.
  std::string bytes = one_tensor_file(no_metadata(), dict_of("w", 0));
  auto swap_at = [&](std::size_t at, std::size_t n) {
    std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                 bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
  };
  swap_at(8, 2);   // major
  swap_at(12, 4);  // byte order mark
  swap_at(16, 4);  // header size
  const uint64_t c = io::checksum(bytes.data(), 56);
  std::memcpy(bytes.data() + 56, &c, 8);
  swap_at(56, 8);
  expect_refused(bytes, "byte order mark 0x0000000004030201, expected 0x0000000001020304");
  expect_refused(bytes, "little-endian");

  // Only the mark reversed, with a valid little-endian checksum.
  std::string le = one_tensor_file(no_metadata(), dict_of("w", 0));
  std::reverse(le.begin() + 12, le.begin() + 16);
  const uint64_t c2 = io::checksum(le.data(), 56);
  std::memcpy(le.data() + 56, &c2, 8);
  expect_refused(le, "byte order mark");
}

TEST(Hostile, HeaderFieldsOutsideTheSpecAreRefused) {
  auto patched = [](std::size_t at, std::string_view with) {
    std::string b = one_tensor_file(no_metadata(), dict_of("w", 0));
    b.replace(at, with.size(), with);
    const uint64_t c = io::checksum(b.data(), 56);
    std::memcpy(b.data() + 56, &c, 8);
    return b;
  };
  expect_refused(patched(16, std::string("\x80\0\0\0", 4)), "header size 128, expected 64");
  expect_refused(patched(20, "\x01"), "file header flags");
  // Producer: NUL padding must stay NUL after the name.
  expect_refused(patched(24 + 20, "x"), "file header producer padding");
}

TEST(Hostile, TrailerFieldsThatDisagreeWithTheFileAreRefused) {
  // Tweaks run after the index is written, so f.bytes().size() is where the trailer starts.
  auto file = [](auto&& tweak) {
    FileBuilder f;
    const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
    f.index(no_metadata(), dict_of("w", 0), {r});
    tweak(f);
    return f.finish();
  };
  // The index offset: past the end, at the trailer, misaligned, at a tensor record, inside the
  // index payload.
  expect_refused(file([](FileBuilder& f) { f.index_offset = uint64_t{1} << 40; }),
                 "does not match the file: index at 1099511627776",
                 "index offset 1099511627776 is outside the file");
  expect_refused(file([](FileBuilder& f) { f.index_offset = ~uint64_t{0} - 63; }),
                 "does not match the file", "is outside the file");
  expect_refused(file([](FileBuilder& f) { f.index_offset = f.bytes().size(); }),
                 "does not match the file", "is outside the file");
  expect_refused(file([](FileBuilder& f) { f.index_offset = 65; }), "does not match the file",
                 "index offset 65 is outside the file");
  expect_refused(file([](FileBuilder& f) { f.index_offset = 0; }), "does not match the file",
                 "index offset 0 is outside the file");
  expect_refused(file([](FileBuilder& f) { f.index_offset = 64; }), "does not match the file",
                 "the trailer does not point at an index record");
  expect_refused(file([](FileBuilder& f) { f.index_offset += 64; }), "does not match the file",
                 "index record header at offset 256: header checksum mismatch");
  // The file size, the index checksum and the version.
  expect_refused(file([](FileBuilder& f) { f.file_size = uint64_t{1} << 63; }),
                 "does not match the file", "the trailer says the file is 9223372036854775808");
  expect_refused(file([](FileBuilder& f) { f.index_checksum ^= 1; }), "does not match the file",
                 "the trailer does not point at an index record");
  expect_refused(file([](FileBuilder& f) { f.trailer_minor = 1; }), "trailer");
  expect_refused(file([](FileBuilder& f) { f.trailer_major = 2; }), "trailer");
  // The Reader checks the versions itself, before any random access.
  for (const std::string& bytes : {file([](FileBuilder& f) { f.trailer_minor = 1; }),
                                   file([](FileBuilder& f) { f.trailer_major = 0; })}) {
    WICK_EXPECT_THROW_MSG(io::Reader(Loaders(bytes).path()).tensor("w"), FormatError, "trailer");
  }
}

TEST(Hostile, AFileThatGoesOnAfterACompleteFileIsRefused) {
  // One complete file {"w": ...}, then a second index and trailer that reuse its record as
  // {"v": ...}. Front to back, the file ends at the first trailer; random access starts at the
  // last one. A reader of a file must not pick either: it refuses the file.
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.index(no_metadata(), dict_of("w", 0), {r});
  const std::size_t first_end = f.finish().size();
  f.index(no_metadata(), dict_of("v", 0), {r});
  const std::string bytes = f.finish();

  const Loaders l(bytes);
  const std::string msg = std::to_string(bytes.size() - first_end) +
                          " unexpected bytes after the trailer (it ends at " +
                          std::to_string(first_end) + ", the file is " +
                          std::to_string(bytes.size()) + " bytes)";
  WICK_EXPECT_THROW_MSG(l.file(), FormatError, msg);
  // Random access starts from the last trailer and finds the first file's index between the
  // records the last index lists and that index.
  const std::string second_index =
      "index record header at offset 192: a second index record that the index does not list";
  WICK_EXPECT_THROW_MSG(l.mmap(), FormatError, second_index);
  WICK_EXPECT_THROW_MSG(l.reader_value(), FormatError, second_index);
  WICK_EXPECT_THROW_MSG(l.reader_verify(), FormatError, second_index);
  // Errors from a file name it.
  WICK_EXPECT_THROW_MSG(l.file(), FormatError, "wick file " + l.path().string() + ": trailer at");
  WICK_EXPECT_THROW_MSG(l.mmap(), FormatError, "wick file " + l.path().string() + ": index");
  // A stream may carry more data after a file: it reads the first file and stops there.
  std::istringstream in(bytes);
  EXPECT_EQ(load(in), Value(Dict{{"w", f32({1, 2})}}));
  EXPECT_EQ(in.tellg(), static_cast<std::streamoff>(first_end));
}

TEST(Hostile, NonZeroReservedBytesAreRefusedEvenWithValidChecksums) {
  // Trailer reserved bytes.
  std::string t = one_tensor_file(no_metadata(), dict_of("w", 0));
  const std::size_t at = t.size() - 64;
  t[at + 30] = 1;
  const uint64_t c = io::checksum(t.data() + at, 48);
  std::memcpy(t.data() + at + 48, &c, 8);
  expect_refused(t, "trailer reserved bytes");
  // Tensor record reserved bytes.
  FileBuilder f;
  TensorRecord rec{kCodeFloat32, {2}, f32_payload({1, 2})};
  rec.reserved = 0x100;
  const Row r = f.tensor(rec);
  f.index(no_metadata(), dict_of("w", 0), {r});
  expect_refused(f.finish(), "tensor record reserved bytes");
  // Tensor padding after the payload (not covered by a checksum, so it must be zero).
  std::string p = one_tensor_file(no_metadata(), dict_of("w", 0));
  p[128 + 8 + 5] = 7;
  expect_refused_at(p, "tensor padding", 141, "padding/reserved byte is 7");
}

// ---------------------------------------------------------------------------------------------
// Tensor records and the tensor table.

TEST(Hostile, DimensionsWhoseProductOverflowsAreRefused) {
  const uint64_t big = uint64_t{1} << 32;
  for (const std::vector<uint64_t>& sizes :
       {std::vector<uint64_t>{big, big}, std::vector<uint64_t>{big, big, 2},
        std::vector<uint64_t>{uint64_t{1} << 62, 8}, std::vector<uint64_t>{3, 5, 1u << 31, big}}) {
    SCOPED_TRACE(sizes.size());
    // In the record (the index row says the same).
    FileBuilder f;
    const Row r = f.tensor(TensorRecord(kCodeUInt8, sizes, "").claiming(0));
    f.index(no_metadata(), dict_of("w", 0), {r});
    expect_refused(f.finish(), "overflows 2^62 bytes");
    // Only in the index row.
    std::vector<Row> rows{Row{64, 8, 0, kCodeUInt8, sizes}};
    expect_refused(one_tensor_file(no_metadata(), dict_of("w", 0), rows), "overflows 2^62 bytes");
  }
}

TEST(Hostile, EmptyTensorsWithHugeDimensionsAreRefused) {
  // The product is 0, but the strides of [0, 2^40, 2^40] do not fit in 64 bits; refusing it
  // keeps the answer independent of where the zero is ([2^40, 2^40, 0] overflows on the way).
  const uint64_t big = uint64_t{1} << 40;
  for (const std::vector<uint64_t>& sizes :
       {std::vector<uint64_t>{0, big, big}, std::vector<uint64_t>{big, big, 0}}) {
    FileBuilder f;
    const Row r = f.tensor({kCodeFloat32, sizes, ""});
    f.index(no_metadata(), dict_of("w", 0), {r});
    expect_refused(f.finish(), "overflows 2^62 bytes");
  }
  // Large but representable empty tensors load.
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {0, big}, ""});
  f.index(no_metadata(), dict_of("w", 0), {r});
  const Value v = Loaders(f.finish()).stream();
  EXPECT_EQ(v["w"].tensor().shape(), (Shape{0, int64_t{1} << 40}));
}

TEST(Hostile, SizesAbove2To63AreRefused) {
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {0, uint64_t{1} << 63}, ""});
  f.index(no_metadata(), dict_of("w", 0), {r});
  expect_refused(f.finish(), "exceeds 2^63-1");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Hostile, ATerabyteTensorInATinyFileFailsFastWithoutAllocatingIt) {
  // 2^38 float32 elements: 1 TiB of payload claimed, none present.
  const uint64_t tib = uint64_t{1} << 40;
  FileBuilder f;
  const Row r = f.tensor(TensorRecord(kCodeFloat32, {uint64_t{1} << 38}, "").claiming(tib));
  f.bytes().zeros(200 - f.bytes().size());
  const std::string tiny = f.bytes().str();
  ASSERT_EQ(tiny.size(), 200u);
  const Loaders l(tiny);
  // An attempt to allocate 1 TiB would throw std::bad_alloc (or abort under ASan), not this.
  auto t0 = std::chrono::steady_clock::now();
  for (const ErrorInfo& info :
       {refusal([&] { l.stream(); }, "truncated"),
        refusal([&] { l.file(); }, "truncated: claims 1099511627776 bytes, only 72 remain")}) {
    EXPECT_EQ(info.structure, "tensor payload");
    EXPECT_EQ(info.offset, 128U);
  }
  WICK_EXPECT_THROW_MSG(l.mmap(), FormatError, "end magic WICKEND missing");
  // Generous: the point is "no 1 TiB zero-fill or read loop", not a benchmark.
  EXPECT_LT(seconds_since(t0), 10.0);

  // The same claim in a complete file whose index agrees: the Reader refuses it from the index.
  f.bytes().str().resize(128);
  f.index(no_metadata(), dict_of("w", 0), {r});
  const std::string whole = f.finish();
  t0 = std::chrono::steady_clock::now();
  expect_refused(whole, "truncated", "overlaps another record or lies outside the data");
  WICK_EXPECT_THROW_MSG(io::Reader(Loaders(whole).path()).entries(), FormatError,
                        "tensor '/w': record (1099511627776 payload bytes)");
  EXPECT_LT(seconds_since(t0), 10.0);
}

TEST(Hostile, AHugePayloadClaimOnAStreamAllocatesOnlyAsBytesArrive) {
  // 1 PiB claimed, 1000 bytes present: refused after reading what there is. A stream's length
  // is unknown, so the claim cannot be checked up front; allocating it would throw bad_alloc.
  const uint64_t pib = uint64_t{1} << 50;
  FileBuilder f;
  f.tensor(TensorRecord(kCodeUInt8, {pib}, std::string(1000, 'x')).claiming(pib));
  const Loaders l(f.bytes().str());
  const testing::PeakRss peak;
  WICK_EXPECT_THROW_MSG(l.stream(), FormatError, "truncated");
  if (peak.available() && !testing::kSanitized) {
    EXPECT_LT(peak.growth(), kRefusalMemory);
  }
}

TEST(Hostile, UnknownDtypeCodesAreRefused) {
  for (const uint8_t code : {uint8_t{10}, uint8_t{11}, uint8_t{127}, uint8_t{255}}) {
    SCOPED_TRACE(int{code});
    const std::string name = "unknown dtype code " + std::to_string(code);
    // In the record.
    FileBuilder f;
    Row r = f.tensor({code, {2}, f32_payload({1, 2})});
    r.code = kCodeFloat32;
    f.index(no_metadata(), dict_of("w", 0), {r});
    expect_refused_at(f.finish(), "tensor record header", 84, name);
    // In the table.
    std::vector<Row> rows{Row{64, 8, 0, code, {2}}};
    expect_refused(one_tensor_file(no_metadata(), dict_of("w", 0), rows), "tensor 0: " + name);
  }
}

TEST(Hostile, ARankAbove32IsRefused) {
  for (const uint8_t rank : {uint8_t{33}, uint8_t{60}, uint8_t{255}}) {
    SCOPED_TRACE(int{rank});
    // In the record: its header is as long as the rank says.
    FileBuilder f;
    TensorRecord rec{kCodeFloat32, std::vector<uint64_t>(rank, 1), f32_payload({1})};
    Row r = f.tensor(rec);
    r.sizes = {1};
    f.index(no_metadata(), dict_of("w", 0), {r});
    // Rank 255 needs a 2112-byte header, beyond the 512 any record may have.
    expect_refused(f.finish(), rank == 255 ? "header size 2112 is not a multiple of 64 between"
                                           : "rank " + std::to_string(rank) + " exceeds 32");
    // In the table.
    std::vector<Row> rows{Row{64, 4, 0, kCodeFloat32, std::vector<uint64_t>(rank, 1)}};
    expect_refused(one_tensor_file(no_metadata(), dict_of("w", 0), rows),
                   "tensor 0: rank " + std::to_string(rank));
  }
  // Rank 32 itself is fine.
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, std::vector<uint64_t>(32, 1), f32_payload({7})});
  f.index(no_metadata(), dict_of("w", 0), {r});
  const Value v = Loaders(f.finish()).stream();
  EXPECT_EQ(v["w"].tensor().dim(), 32);
}

TEST(Hostile, RecordHeadersThatContradictThemselvesAreRefused) {
  // Each file: the header, one bad record, then an empty index and a trailer.
  auto file = [](auto&& record) {
    FileBuilder f;
    record(f.bytes());
    f.index(no_metadata(), none(), {});
    return f.finish();
  };
  // Random access refuses a well-formed record at once: the index lists none, so none may be
  // there.
  const std::string unlisted = "at offset 64: a tensor record that the index does not list";
  // Header size that does not fit the rank: rank 5 needs 128 bytes.
  expect_refused(file([](Bytes& b) {
                   b.u32(1).u16(0).u16(64).u64(4).u32(0).u8(kCodeFloat32).u8(5).u16(0);
                   for (int i = 0; i < 4; ++i)
                     b.u64(1);
                   b.seal(64).raw(f32_payload({1})).pad64();
                 }),
                 "tensor record header at offset 70: header size 64 for rank 5, expected 128",
                 unlisted);
  // A payload size that is not what the shape needs.
  {
    FileBuilder f;
    f.tensor({kCodeFloat32, {2}, f32_payload({1, 2, 3})});
    f.index(no_metadata(), none(), {});
    expect_refused(f.finish(), "payload size 12 but float32 [2] needs 8", unlisted);
  }
  // Header sizes outside 64..512 or not a multiple of 64 (checksum-valid).
  for (const uint16_t h : {uint16_t{0}, uint16_t{32}, uint16_t{100}, uint16_t{576}}) {
    expect_refused_at(
        file([&](Bytes& b) { b.u32(1).u16(0).u16(h).u64(0).zeros(40).seal(64); }),
        "tensor record header", 70,
        "header size " + std::to_string(h) + " is not a multiple of 64 between 64 and 512");
  }
  // Flag bits other than "optional", and an optional tensor record.
  expect_refused_at(file([](Bytes& b) { b.u32(1).u16(4).u16(64).u64(0).zeros(40).seal(64); }),
                    "tensor record header", 68, "unknown flag bits");
  expect_refused(file([](Bytes& b) {
                   b.u32(1).u16(1).u16(64).u64(0).u32(0).u8(kCodeFloat32).u8(1).u16(0).u64(0);
                   b.zeros(24).seal(64);
                 }),
                 "tensor records cannot be optional", unlisted);
  // A payload size beyond any file.
  expect_refused(
      file([](Bytes& b) { b.u32(1).u16(0).u16(64).u64(~uint64_t{0}).zeros(40).seal(64); }),
      "payload size 18446744073709551615 is beyond any real file");
}

TEST(Hostile, TensorIdsMustCountUpFromZero) {
  FileBuilder f;
  const Row a = f.tensor(TensorRecord(kCodeFloat32, {1}, f32_payload({1})).with_id(1));
  const Row b = f.tensor(TensorRecord(kCodeFloat32, {1}, f32_payload({2})).with_id(0));
  f.index(no_metadata(), dict(2).str("a").raw(tensor_ref(0)).str("b").raw(tensor_ref(1)), {a, b});
  expect_refused(f.finish(), "tensor id 1, expected 0");
}

TEST(Hostile, TableRowsThatOverlapOrPointIntoTheIndexAreRefused) {
  // Two float32 [2] tensors: records at 64 and 192 (64 header + 8 payload + 56 padding each).
  auto file = [](auto&& tweak) {
    FileBuilder f;
    std::vector<Row> rows{f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})}),
                          f.tensor({kCodeFloat32, {2}, f32_payload({3, 4})})};
    EXPECT_EQ(rows[1].offset, 192u);
    const uint64_t index_at = f.bytes().size();
    tweak(rows, index_at);
    f.index(no_metadata(), dict(2).str("a").raw(tensor_ref(0)).str("b").raw(tensor_ref(1)), rows);
    return f.finish();
  };
  // Row 1 inside record 0's payload.
  expect_refused_at(file([](std::vector<Row>& r, uint64_t) { r[1].offset = 128; }), "tensor '/b'",
                    192, "index row (offset 128",
                    "tensor '/b': record (8 payload bytes) overlaps another record");
  // Both rows at the same record.
  expect_refused(file([](std::vector<Row>& r, uint64_t) { r[1].offset = 64; }),
                 "tensor 1: record offset 64 is misaligned, inside the header, or not after the "
                 "previous record");
  // Out of order.
  expect_refused(file([](std::vector<Row>& r, uint64_t) { std::swap(r[0].offset, r[1].offset); }),
                 "not after the previous record");
  // Into the file header, misaligned.
  expect_refused(file([](std::vector<Row>& r, uint64_t) { r[0].offset = 0; }),
                 "tensor 0: record offset 0 is misaligned, inside the header");
  expect_refused(file([](std::vector<Row>& r, uint64_t) { r[1].offset = 200; }),
                 "tensor 1: record offset 200 is misaligned");
  // At the index record, and past the end of the file.
  expect_refused(file([](std::vector<Row>& r, uint64_t index_at) { r[1].offset = index_at; }),
                 "index row (offset 320", "lies outside the data");
  expect_refused(file([](std::vector<Row>& r, uint64_t) { r[1].offset = uint64_t{1} << 50; }),
                 "index row (offset 1125899906842624", "lies outside the data");
  // A payload size that runs into the next record (with a shape to match).
  expect_refused(file([](std::vector<Row>& r, uint64_t) {
                   r[0].payload_size = 4 * 40;
                   r[0].sizes = {40};
                 }),
                 "index row (offset 64, float32 [40]) disagrees with the record (offset 64, "
                 "float32 [2])",
                 "tensor '/b': record (8 payload bytes) overlaps another record");
}

TEST(Hostile, TableRowsThatDisagreeWithTheirRecordsAreRefused) {
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  Row wrong = r;
  wrong.sizes = {1, 2};
  f.index(no_metadata(), dict_of("w", 0), {wrong});
  const std::string bytes = f.finish();
  expect_refused(bytes, "index row (offset 64, float32 [1, 2]) disagrees with the record");
  // Random access checks the record against the row too.
  WICK_EXPECT_THROW_MSG(io::Reader(Loaders(bytes).path()).tensor("w"), FormatError,
                        "disagrees with the index");
  // A payload size that is not the shape's.
  std::vector<Row> rows{Row{64, 12, r.checksum, kCodeFloat32, {2}}};
  expect_refused(one_tensor_file(no_metadata(), dict_of("w", 0), rows),
                 "tensor 0: payload size 12 does not match float32 [2]");
  // A different number of rows than records.
  expect_refused(one_tensor_file(no_metadata(), dict_of("w", 0), std::vector<Row>{}),
                 "value refers to tensor 0 but the file has 0 tensors");
  FileBuilder g;
  const Row a = g.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  const Row b = g.tensor({kCodeFloat32, {2}, f32_payload({3, 4})});
  g.index(no_metadata(), dict_of("w", 0), {a});
  expect_refused(g.finish(), "lists 1 tensors but the file holds 2",
                 "at offset 192: a tensor record that the index does not list");
  (void)b;
}

TEST(Hostile, ABoolPayloadByteOf2IsRefused) {
  FileBuilder f;
  const Row r = f.tensor({kCodeBool, {4}, std::string("\x01\x02\x00\x01", 4)});
  f.index(no_metadata(), dict_of("flags", 0), {r});
  const std::string bytes = f.finish();
  const std::string msg = "at offset 129: element 1 is byte 2, expected 0 or 1";
  expect_refused_at(bytes, "bool tensor #0", 129, "element 1 is byte 2, expected 0 or 1");
  const Loaders l(bytes);
  WICK_EXPECT_THROW_MSG(io::Reader(l.path()).tensor("flags"), FormatError,
                        "bool tensor '/flags' " + msg);
  // Without verification too: a bool byte of 2 would be undefined behaviour downstream.
  LoadOptions trusting;
  trusting.verify = false;
  WICK_EXPECT_THROW_MSG(l.stream(trusting), FormatError, msg);
  WICK_EXPECT_THROW_MSG(l.file(trusting), FormatError, msg);
  trusting.mmap = true;
  WICK_EXPECT_THROW_MSG(l.file(trusting), FormatError, msg);
  WICK_EXPECT_THROW_MSG(io::Reader(l.path(), trusting).tensor("flags"), FormatError, msg);
}

// ---------------------------------------------------------------------------------------------
// The index payload: metadata, value tree, table.

TEST(Hostile, HugeStringLengthsAreRefusedBeforeAllocating) {
  const uint32_t huge = 0xFFFFFFFFu;
  Bytes meta_key;
  meta_key.u32(1).u32(huge);
  expect_refused(one_tensor_file(meta_key, dict_of("w", 0)),
                 "truncated: metadata key needs 4294967295 bytes");
  Bytes meta_value;
  meta_value.u32(1).str("k").u8(5).u32(huge);
  expect_refused(one_tensor_file(meta_value, dict_of("w", 0)),
                 "truncated: metadata string needs 4294967295 bytes");
  expect_refused(one_tensor_file(no_metadata(), dict(1).u32(huge)),
                 "truncated: dict key needs 4294967295 bytes");
  expect_refused(one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).u8(5).u32(huge)),
                 "truncated: string value needs 4294967295 bytes");
  // Just one byte too long.
  Bytes tree = list(2).raw(tensor_ref(0)).u8(5).u32(9).raw("12345678", 8);
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  Bytes p;
  p.raw(no_metadata()).raw(tree);  // no table: the string would have to eat its first byte
  f.index_payload(p);
  (void)r;
  expect_refused(f.finish(), "truncated: string value needs 9 bytes, only 8 remain");
}

TEST(Hostile, HugeCountsInATinyIndexAreRefusedBeforeAllocating) {
  const uint32_t huge = 0xFFFFFFFFu;
  expect_refused(one_tensor_file(no_metadata(), list(huge).raw(tensor_ref(0))),
                 "truncated: container items needs 4294967295 bytes");
  expect_refused(one_tensor_file(no_metadata(), dict(huge).str("w").raw(tensor_ref(0))),
                 "truncated: container items needs 21474836475 bytes");
  expect_refused(one_tensor_file(Bytes().u32(huge), dict_of("w", 0)),
                 "truncated: metadata entries needs 21474836475 bytes");
  // The table count, written by hand.
  FileBuilder f;
  f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  Bytes p;
  p.raw(no_metadata()).raw(dict_of("w", 0)).u32(huge);
  f.index_payload(p);
  expect_refused(f.finish(), "truncated: tensor table needs 111669149670 bytes");
  // A list whose count is only slightly above what remains.
  expect_refused(one_tensor_file(no_metadata(), list(3).raw(tensor_ref(0)).raw(none())),
                 "truncated");
}

Bytes nested_lists(std::size_t depth) {
  Bytes b;
  for (std::size_t i = 0; i < depth; ++i)
    b.raw(list(1));
  return b.raw(tensor_ref(0));
}

TEST(Hostile, AMillionLevelsOfNestingAreRefusedWithoutRecursion) {
  const std::string bytes = one_tensor_file(no_metadata(), nested_lists(1'000'000));
  ASSERT_GT(bytes.size(), 5'000'000u);
  expect_refused(bytes, "nesting deeper than 512 levels");
  // Dicts too.
  Bytes dicts;
  for (int i = 0; i < 1'000'000; ++i)
    dicts.raw(dict(1)).str("k");
  dicts.raw(tensor_ref(0));
  expect_refused(one_tensor_file(no_metadata(), dicts), "nesting deeper than 512 levels");
}

TEST(Hostile, NestingOf512LevelsLoadsAnd513IsRefused) {
  const Loaders ok(one_tensor_file(no_metadata(), nested_lists(512)));
  Value v = ok.stream();
  int depth = 0;
  const Value* at = &v;
  while (at->is_list()) {
    at = &(*at)[0];
    ++depth;
  }
  EXPECT_EQ(depth, 512);
  EXPECT_TRUE(at->is_tensor());
  EXPECT_EQ(io::Reader(ok.path()).entries().at(0).path, [] {
    std::string p;
    for (int i = 0; i < 512; ++i)
      p += "/0";
    return p;
  }());
  expect_refused(one_tensor_file(no_metadata(), nested_lists(513)),
                 "nesting deeper than 512 levels");
}

TEST(Hostile, DuplicateDictKeysAreRefused) {
  expect_refused(
      one_tensor_file(no_metadata(), dict(2).str("w").raw(tensor_ref(0)).str("w").raw(none())),
      "duplicate dict key 'w'");
  // Deeper, after other keys.
  Bytes tree = dict(2).str("model").raw(dict(3)).str("a").raw(none()).str("w").raw(tensor_ref(0));
  tree.str("a").raw(none()).str("other").raw(none());
  expect_refused(one_tensor_file(no_metadata(), tree), "duplicate dict key 'a'");
  // The same key in different dicts is fine, and so is the empty key.
  Bytes fine = dict(3).str("w").raw(dict_of("w", 0)).str("").raw(none()).str("x").raw(dict(1));
  fine.str("w").raw(none());
  const Value v = Loaders(one_tensor_file(no_metadata(), fine)).stream();
  EXPECT_EQ(v["w"]["w"].tensor().shape(), (Shape{2}));
  EXPECT_TRUE(v.at("").is_none());
  // Keys with a NUL byte are refused.
  expect_refused(one_tensor_file(no_metadata(), dict_of(std::string_view("a\0b", 3), 0)),
                 "dict key contains a NUL byte");
}

TEST(Hostile, ADictWithManyDistinctKeysLoadsInLinearTime) {
  // Duplicate detection must not compare every pair of keys: 200,000 keys would take minutes.
  constexpr uint32_t kKeys = 200'000;
  Bytes tree = dict(kKeys + 1).str("w").raw(tensor_ref(0));
  for (uint32_t i = 0; i < kKeys; ++i)
    tree.str(std::to_string(i)).raw(none());
  const Value v = Loaders(one_tensor_file(no_metadata(), tree)).stream();
  EXPECT_EQ(v.size(), kKeys + 1);
  // And a duplicate at the very end is still found.
  tree.str("w").raw(none());
  tree.str().replace(1, 4, Bytes().u32(kKeys + 2).str());
  expect_refused(one_tensor_file(no_metadata(), tree), "duplicate dict key 'w'");
}

TEST(Hostile, DuplicateAndInvalidMetadataKeysAreRefused) {
  Bytes dup;
  dup.u32(2).str("epoch").raw(integer(1)).str("epoch").raw(integer(2));
  expect_refused(one_tensor_file(dup, dict_of("w", 0)), "duplicate metadata key 'epoch'");
  Bytes empty;
  empty.u32(1).str("").raw(none());
  expect_refused(one_tensor_file(empty, dict_of("w", 0)), "metadata key is empty");
  Bytes nul;
  nul.u32(1).str(std::string_view("a\0", 2)).raw(none());
  expect_refused(one_tensor_file(nul, dict_of("w", 0)), "metadata key contains a NUL byte");
}

// FORMAT.md "Conventions": strings are UTF-8, as Python's strict decoder has it. Each string
// is refused at its length field: string values, dict keys of both kinds, metadata keys and
// values.
const std::vector<std::string>& not_utf8() {
  static const std::vector<std::string> bad = {"\xff",              // never in UTF-8
                                               "\x80",              // a continuation byte alone
                                               "ab\xc3",            // a sequence cut short
                                               "\xc0\x80",          // overlong NUL
                                               "\xe0\x80\xaf",      // overlong '/'
                                               "\xed\xa0\x80",      // a surrogate (U+D800)
                                               "\xf4\x90\x80\x80",  // above U+10FFFF
                                               "\xf8\x88\x80\x80\x80"};
  return bad;
}

TEST(Hostile, StringsThatAreNotUtf8AreRefused) {
  for (const std::string& bad : not_utf8()) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    // The index payload starts at 256: metadata count (4), then the tree.
    expect_refused_at(one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).raw(text(bad))),
                      "index", 256 + 4 + 5 + 5 + 1, "string value is not valid UTF-8");
    expect_refused_at(one_tensor_file(no_metadata(), dict_of(bad, 0)), "index", 256 + 4 + 5,
                      "dict key is not valid UTF-8");
    expect_refused_at(one_tensor_file(Bytes().u32(1).str(bad).raw(none()), dict_of("w", 0)),
                      "index", 256 + 4, "metadata key is not valid UTF-8");
    expect_refused_at(one_tensor_file(Bytes().u32(1).str("k").u8(5).str(bad), dict_of("w", 0)),
                      "index", 256 + 4 + 5 + 1, "metadata string is not valid UTF-8");
    const Bytes keyed =
        keyed_dict(2).raw(int_key(0)).raw(tensor_ref(0)).raw(str_key(bad)).raw(none());
    expect_refused_at(one_tensor_file(no_metadata(), keyed, {}, 2), "index",
                      256 + 4 + 5 + 9 + 5 + 1, "dict key is not valid UTF-8");
  }
  // The edges that are UTF-8 load: the last code point, the last before the surrogates.
  for (const std::string good : {"\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xef\xbf\xbf", ""}) {
    expect_loads(one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).raw(text(good))),
                 List{f32({1.5f, -2.0f}), good});
  }
}

TEST(Hostile, TheWriterRefusesStringsThatAreNotUtf8BeforeTheTargetChanges) {
  const TempDir dir;
  const auto target = dir / "t.wick";
  const Value old_value = Dict{{"w", f32({1, 2})}};
  save(old_value, target);
  const std::vector<char> old_bytes = testing::read_bytes(target);
  const std::string bad = "caf\xe9";  // Latin-1, not UTF-8
  SaveOptions bad_key, bad_text;
  bad_key.metadata = Dict{{bad, 1}};
  bad_text.metadata = Dict{{"k", bad}};
  const std::vector<std::pair<Value, SaveOptions>> refused = {
      {Dict{{"w", f32({1})}, {"s", List{1, bad}}}, {}},
      {Dict{{"w", f32({1})}, {bad, 2}}, {}},
      {Dict{{"w", f32({1})}, {"d", Dict{{Key(0), 1}, {Key(bad), 2}}}}, {}},
      {old_value, bad_key},
      {old_value, bad_text}};
  for (const auto& [value, options] : refused) {
    EXPECT_THROW(save(value, target, options), ArgumentError);
    EXPECT_EQ(testing::read_bytes(target), old_bytes);
    std::ostringstream out;
    EXPECT_THROW(save(value, out, options), ArgumentError);
    EXPECT_TRUE(out.str().empty()) << out.str().size() << " bytes written";
  }
  // A TensorDict's keys, and a Writer's add(): refused before any record.
  TensorDict tensors;
  tensors.insert("a", f32({1}));
  tensors.insert(bad, f32({2}));
  EXPECT_THROW(save(tensors, target), ArgumentError);
  EXPECT_EQ(testing::read_bytes(target), old_bytes);
}

TEST(Hostile, UnknownValueTagsAreRefused) {
  for (const uint8_t tag : {uint8_t{12}, uint8_t{128}, uint8_t{255}}) {
    SCOPED_TRACE(int{tag});
    for (const uint16_t major : {uint16_t{1}, uint16_t{2}}) {
      expect_refused(one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).u8(tag), {}, major),
                     "unknown value tag " + std::to_string(tag));
    }
    FileBuilder views(2, 1);
    const Row r = views.tensor({kCodeFloat32, {2}, f32_payload({1.5f, -2.0f})});
    views.index(no_metadata(), list(2).raw(tensor_ref(0)).u8(tag), {r});
    expect_refused(views.finish(), "unknown value tag " + std::to_string(tag));
    Bytes meta;
    meta.u32(1).str("k").u8(tag);
    expect_refused(
        one_tensor_file(meta, dict_of("w", 0)),
        "metadata 'k' has tag " + std::to_string(tag) + "; metadata values are tags 0-5");
  }
  // Containers, tensors and views are not metadata.
  for (const uint8_t tag : {uint8_t{6}, uint8_t{7}, uint8_t{8}, uint8_t{11}}) {
    Bytes meta;
    meta.u32(1).str("k").u8(tag).u32(0);
    expect_refused(one_tensor_file(meta, dict_of("w", 0)),
                   "has tag " + std::to_string(tag) + "; metadata values are tags 0-5");
  }
}

// ---------------------------------------------------------------------------------------------
// Format 2.0: tuples (tag 9) and dicts with int keys (tag 10).

TEST(Hostile, TuplesAndIntKeysLoadFromA2_0File) {
  // (t, 7) and {3: t, "a": None, -1: (), 0: {}}, as the writer lays them out.
  Bytes tree = list(2);
  tree.raw(tuple(2).raw(tensor_ref(0)).raw(integer(7)));
  tree.raw(keyed_dict(4).raw(int_key(3)).raw(tensor_ref(0)).raw(str_key("a")).raw(none()));
  tree.raw(int_key(-1)).raw(tuple(0)).raw(int_key(0)).raw(dict(0));
  const Tensor t = from_vector(std::vector<float>{1.5f, -2.0f});
  const Value want = List{Tuple{t, 7}, Dict{{3, t}, {"a", nullptr}, {-1, Tuple{}}, {0, Dict{}}}};
  const std::string bytes = one_tensor_file(no_metadata(), tree, {}, 2);
  expect_loads(bytes, want);
  expect_saved_as(want, bytes);
}

TEST(Hostile, TuplesAndIntKeysInA1_0FileAreRefusedNamingTheVersions) {
  expect_refused(one_tensor_file(no_metadata(), tuple(1).raw(tensor_ref(0))),
                 "value tag 9 (tuple) needs format 2.0; the file is 1.0");
  expect_refused(one_tensor_file(no_metadata(), keyed_dict(1).raw(int_key(0)).raw(tensor_ref(0))),
                 "value tag 10 (dict with int keys) needs format 2.0; the file is 1.0");
}

// FORMAT.md "Version history": from 2.0 on, what a reader refuses in a file of a newer minor is
// refused naming both versions, since it may be what that minor added.
TEST(Hostile, ARefusalInANewerMinorNamesBothVersions) {
  const std::string note =
      "; the file is format 2.2, newer than this reader's 2.1: unless it is damaged, upgrade wick";
  FileBuilder f(2, 2);
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.index(no_metadata(), list(2).raw(tensor_ref(0)).u8(12), {r});
  expect_refused(f.finish(), "unknown value tag 12" + note);
  // An unknown dtype code, which only the record or the table knows.
  FileBuilder g(2, 2);
  Row row = g.tensor({uint8_t{200}, {2}, f32_payload({1, 2})});
  row.code = kCodeFloat32;
  g.index(no_metadata(), dict_of("w", 0), {row});
  expect_refused(g.finish(), "unknown dtype code 200" + note);
  // Header flags, which a newer minor might use.
  FileBuilder flags(2, 2);
  std::string flagged = flags.bytes().str();
  flagged[20] = 1;
  Bytes resealed;
  resealed.raw(flagged.substr(0, 56)).seal(0);
  flags.bytes().str() = resealed.str();
  const Row r4 = flags.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  flags.index(no_metadata(), dict_of("w", 0), {r4});
  const std::string flagged_file = flags.finish();
  expect_refused(flagged_file, "reserved byte is 1, expected 0 (the file is corrupt)" + note);
  expect_refused(flagged_file, "file header flags");
  // The same faults in a file of this reader's version say nothing of versions.
  FileBuilder h(2, 1);
  const Row r2 = h.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  h.index(no_metadata(), list(2).raw(tensor_ref(0)).u8(12), {r2});
  const Loaders l(h.finish());
  try {
    l.file();
    ADD_FAILURE() << "loaded";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  // And a newer minor that uses nothing new loads.
  FileBuilder k(2, 7);
  const Row r3 = k.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  k.index(no_metadata(), dict_of("w", 0), {r3});
  expect_loads(k.finish(), Value(Dict{{"w", from_vector(std::vector<float>{1, 2})}}));
}

TEST(Hostile, IntKeyedDictsThatBreakTheRulesAreRefused) {
  const auto file = [](const Bytes& tree) { return one_tensor_file(no_metadata(), tree, {}, 2); };
  const Bytes w = tensor_ref(0);
  // Keys of another kind than int or string.
  for (const uint8_t tag : {uint8_t{0}, uint8_t{1}, uint8_t{4}, uint8_t{6}, uint8_t{9}}) {
    SCOPED_TRACE(int{tag});
    expect_refused(file(keyed_dict(1).u8(tag).u64(0).raw(w)),
                   "dict key tag " + std::to_string(tag) + ": keys of a tag-10 dict are ints");
  }
  // The same int twice, the same string twice.
  expect_refused(file(keyed_dict(2).raw(int_key(5)).raw(w).raw(int_key(5)).raw(none())),
                 "duplicate dict key 5");
  expect_refused(file(keyed_dict(3)
                          .raw(int_key(1))
                          .raw(w)
                          .raw(str_key("k"))
                          .raw(none())
                          .raw(str_key("k"))
                          .raw(none())),
                 "duplicate dict key 'k'");
  // An int key and the string of its digits: a path could not tell them apart. Strings that
  // are no canonical int spelling ("05", "-0", "+5") stay apart from 5 and 0.
  expect_refused(file(keyed_dict(2).raw(int_key(5)).raw(w).raw(str_key("5")).raw(none())),
                 "a dict has both the int key 5 and the string key '5'");
  expect_refused(file(keyed_dict(2).raw(str_key("-12")).raw(none()).raw(int_key(-12)).raw(w)),
                 "the int key -12 and the string key '-12'");
  const Tensor t = from_vector(std::vector<float>{1.5f, -2.0f});
  Bytes apart = keyed_dict(5).raw(int_key(5)).raw(w).raw(int_key(0)).raw(none());
  apart.raw(str_key("05"))
      .raw(none())
      .raw(str_key("-0"))
      .raw(none())
      .raw(str_key("+5"))
      .raw(none());
  expect_loads(
      file(apart),
      Value(Dict{{5, t}, {0, nullptr}, {"05", nullptr}, {"-0", nullptr}, {"+5", nullptr}}));
  // Tag 10 only where a key is an int: one encoding per value.
  expect_refused(file(list(2).raw(w).raw(keyed_dict(1).raw(str_key("a")).raw(none()))),
                 "a dict with int keys (tag 10) has none; a dict of strings is tag 8");
  expect_refused(file(list(2).raw(w).raw(keyed_dict(0))),
                 "an empty dict with int keys (tag 10); an empty dict is tag 8");
  // A count the bytes cannot hold: refused before anything is allocated for it.
  expect_refused(file(list(2).raw(w).raw(keyed_dict(0x7fffffff))), "container items");
  expect_refused(file(list(2).raw(w).raw(tuple(0x7fffffff))), "container items");
  // A NUL in a string key, as in tag 8.
  expect_refused(file(keyed_dict(2)
                          .raw(int_key(1))
                          .raw(w)
                          .raw(str_key(std::string_view("a\0b", 3)))
                          .raw(none())),
                 "dict key contains a NUL byte");
}

TEST(Hostile, TensorIdsOutOfRangeAreRefused) {
  expect_refused(one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).raw(tensor_ref(1))),
                 "value refers to tensor 1 but the file has 1 tensors");
  expect_refused(
      one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).raw(tensor_ref(0xFFFFFFFFu))),
      "value refers to tensor 4294967295 but the file has 1 tensors");
}

TEST(Hostile, ATensorNeverReferencedIsRefused) {
  FileBuilder f;
  const Row a = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  const Row b = f.tensor({kCodeFloat32, {2}, f32_payload({3, 4})});
  f.index(no_metadata(), dict_of("a", 0), {a, b});
  expect_refused(f.finish(), "tensor 1 is not referenced by the value tree");
  // Referencing one tensor twice is sharing, and fine.
  FileBuilder g;
  const Row t = g.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  g.index(no_metadata(), list(2).raw(tensor_ref(0)).raw(tensor_ref(0)), {t});
  const Value v = Loaders(g.finish()).stream();
  EXPECT_TRUE(v[0].tensor().is_same(v[1].tensor()));
}

TEST(Hostile, BytesAfterTheTensorTableAreRefused) {
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  Bytes p;
  p.raw(no_metadata()).raw(dict_of("w", 0)).u32(1);
  p.u64(r.offset).u64(r.payload_size).u64(r.checksum).u8(r.code).u8(1).u64(2);
  p.u8(0);
  f.index_payload(p);
  expect_refused(f.finish(), "1 unexpected bytes after the tensor table");
}

TEST(Hostile, IndexRecordHeadersOutsideTheSpecAreRefused) {
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.index(no_metadata(), dict_of("w", 0), {r});
  std::string bytes = f.finish();
  const std::size_t at = f.index_offset;
  bytes[at + 30] = 1;  // reserved
  const uint64_t c = io::checksum(bytes.data() + at, 56);
  std::memcpy(bytes.data() + at + 56, &c, 8);
  expect_refused(bytes, "index record reserved bytes");
  // An optional index record.
  std::string opt = bytes;
  opt[at + 30] = 0;
  opt[at + 4] = 1;
  const uint64_t c2 = io::checksum(opt.data() + at, 56);
  std::memcpy(opt.data() + at + 56, &c2, 8);
  expect_refused(opt, "index records have flags 0 and a 64-byte header",
                 "the trailer does not point at an index record");
}

// ---------------------------------------------------------------------------------------------
// Record kinds from the future.

TEST(Hostile, ANewerMinorVersionWithAnUnknownOptionalRecordLoads) {
  FileBuilder f(1, 1);
  f.record(99, 1, "a record from wick 1.1 that 1.0 does not know");
  const Row a = f.tensor({kCodeFloat32, {2}, f32_payload({1.5f, 2.5f})});
  f.record(100, 1, "");  // empty, and between records
  f.record(101, 1, std::string(200, 'z'));
  f.index(no_metadata(), dict_of("w", 0), {a});
  const std::string bytes = f.finish();
  expect_loads(bytes, Dict{{"w", f32({1.5f, 2.5f})}});
  const Loaders l(bytes);
  io::Reader reader(l.path());
  EXPECT_EQ(reader.info().minor, 1);
  EXPECT_TRUE(bitwise_equal(reader.tensor("w"), f32({1.5f, 2.5f})));
}

TEST(Hostile, AnOptionalRecordIsStillVerified) {
  FileBuilder f(1, 1);
  f.record(99, 1, "future", 12345);  // wrong payload checksum
  f.index(no_metadata(), none(), {});
  expect_refused(f.finish(), "optional record (kind 99)");
  // A corrupt header is caught by the header checksum.
  FileBuilder g(1, 1);
  g.record(99, 1, "future");
  g.index(no_metadata(), none(), {});
  std::string bytes = g.finish();
  bytes[64 + 20] ^= 1;
  expect_refused_at(bytes, "record header (kind 99)", 64, "header checksum mismatch");
}

// FORMAT.md "What a refusal reports": a payload the file cannot hold is refused at its start,
// an optional record's as a tensor's (a reader of a file knows its size).
TEST(Hostile, AnOptionalPayloadTheFileCannotHoldIsRefusedAtItsStart) {
  FileBuilder f(1, 1);
  Bytes& b = f.bytes();
  b.u32(99).u16(1).u16(64).u64(uint64_t{1} << 20).u64(0).zeros(32).seal(64);
  f.index(no_metadata(), none(), {});
  expect_refused_at(f.finish(), "optional record", 128, "truncated", "record");
}

// FORMAT.md "What a refusal reports": the producer is informational; only the bytes after its
// first NUL must be zero.
TEST(Hostile, AProducerOfAnyBytesBeforeItsNulLoads) {
  FileBuilder f;
  const Row r = f.tensor({kCodeFloat32, {2}, f32_payload({1.5f, -2.0f})});
  f.index(no_metadata(), dict_of("w", 0), {r});
  std::string bytes = f.finish();
  bytes.replace(24, 6, "\xff\x80\x01 \xe9\x7f", 6);
  const uint64_t sum = io::checksum(bytes.data(), 56);
  bytes.replace(56, 8, reinterpret_cast<const char*>(&sum), 8);
  expect_loads(bytes, Dict{{"w", f32({1.5f, -2.0f})}});
}

TEST(Hostile, AnUnknownRequiredRecordKindIsRefused) {
  FileBuilder f(1, 1);
  f.record(77, 0, "must be understood");
  const Row a = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.index(no_metadata(), dict_of("w", 0), {a});
  expect_refused(f.finish(), "unknown required record kind 77");
  // Kind 0 too.
  FileBuilder g;
  g.record(0, 0, "");
  g.index(no_metadata(), none(), {});
  expect_refused(g.finish(), "unknown required record kind 0");
}

// ---------------------------------------------------------------------------------------------
// Amplification: what a file makes a reader build must stay in proportion to the file
// (io/FORMAT.md "Bounds"), however the file repeats itself.

// FORMAT.md "Bounds", native format: a load builds a Value of 112 bytes per value and an index
// node of 32, and a value can be one byte of file; anything else (refusing, listing, verifying,
// one tensor by name) costs at most the index nodes, the path table's 24 bytes per node and the
// index payload.
// Time: 2 s plus 2 s per MB (a million tiny values load in about 1.3 s here, most of it the
// kernel faulting in the pages of the tree).
constexpr testing::DecodeBound kNativeLoadBound{"native load", uint64_t{64} << 20, 160.0, 2.0, 2.0};
constexpr testing::DecodeBound kNativeRefusalBound{"native refuse/list/verify", uint64_t{16} << 20,
                                                   64.0, 2.0, 2.0};

// Runs every decode path on `bytes` within `bound` each; returns how many refused it.
int decode_everywhere(const std::string& what, const std::string& bytes,
                      const testing::DecodeBound& bound) {
  const Loaders l(bytes);
  int refused = 0;
  auto run = [&](const std::string& path_name, const std::function<void()>& fn) {
    try {
      testing::expect_bounded(what + " / " + path_name, bytes.size(), bound, fn);
    } catch (const FormatError&) {
      ++refused;
    }
  };
  run("load(stream)", [&] { (void)l.stream(); });
  run("load(path)", [&] { (void)l.file(); });
  run("load(mmap)", [&] { (void)l.mmap(); });
  run("Reader::verify", [&] { l.reader_verify(); });
  run("Reader::entries", [&] {
    const auto entries = io::Reader(l.path()).entries();
    uint64_t total = 0;
    for (const auto& e : entries)
      total += e.path.size();
    EXPECT_GT(total + 1, 0u);
  });
  run("Reader::tensor by path", [&] {
    io::Reader r(l.path());
    const auto entries = r.entries();
    if (!entries.empty()) (void)r.tensor(entries.back().path.str());
  });
  // A name one edit from the last tensor's: the suggestions search the whole tree.
  run("Reader::tensor misspelled", [&] {
    io::Reader r(l.path());
    const auto entries = r.entries();
    try {
      (void)r.tensor((entries.empty() ? std::string("/x") : entries.back().path.str()) + "x");
    } catch (const ArgumentError&) {
    }
  });
  return refused;
}

// ---------------------------------------------------------------------------------------------
// Format 2.1: views (tag 11) and the view table (FORMAT.md "Kind 2: index", part 4).

// [t, view 0] over a float32 [4] record holding 1, 2, 3, 4, in a 2.1 file.
std::string views_file(const std::vector<ViewRow>& views, const Bytes& tree, uint16_t minor = 1) {
  FileBuilder f(2, minor);
  const Row r = f.tensor({kCodeFloat32, {4}, f32_payload({1, 2, 3, 4})});
  f.index(no_metadata(), tree, {r}, views);
  return f.finish();
}
Bytes record_and_view() {
  return list(2).raw(tensor_ref(0)).raw(view_ref(0));
}

TEST(HostileViews, AViewLoadsOverItsRecordAsTheWriterWritesIt) {
  const std::string bytes = views_file({{0, 1, {2}, {2}}}, record_and_view());
  const Tensor t = f32({1, 2, 3, 4});
  const Value want = List{t, t.slice(0, 1, 4, 2)};
  expect_loads(bytes, want);
  const Loaders l(bytes);
  for (const Value& v : {l.stream(), l.file(), l.mmap(), l.reader_value()}) {
    EXPECT_TRUE(v[1].tensor().shares_storage(v[0].tensor()));
    EXPECT_EQ(v[1].tensor().strides(), Shape{2});
  }
  EXPECT_TRUE(bitwise_equal(io::Reader(l.path()).tensor("/1"), f32({2, 4})));
  expect_saved_as(want, bytes);
  // A record referenced only through a view is referenced.
  expect_loads(views_file({{0, 1, {2}, {2}}}, list(1).raw(view_ref(0))),
               Value(List{t.slice(0, 1, 4, 2)}));
}

TEST(HostileViews, ViewsInAnOlderFileAreRefusedNamingTheVersions) {
  expect_refused(views_file({}, record_and_view(), 0),
                 "value tag 11 (view) needs format 2.1; the file is 2.0");
  expect_refused(one_tensor_file(no_metadata(), list(2).raw(tensor_ref(0)).raw(view_ref(0))),
                 "value tag 11 (view) needs format 2.1; the file is 1.0");
}

TEST(HostileViews, ViewRowsOutsideTheirRecordAreRefused) {
  const uint64_t kBig = uint64_t{1} << 63;
  const std::vector<std::pair<ViewRow, std::string>> cases = {
      {{5, 0, {2}, {1}}, "view 0 refers to tensor 5 but the file has 1 tensors"},
      {{0, kBig, {2}, {1}}, "view 0: offset exceeds 2^63-1"},
      {{0, 0, {kBig}, {1}}, "view 0: size exceeds 2^63-1"},
      {{0, 0, {2}, {kBig}}, "view 0: stride exceeds 2^63-1"},
      {{0, 3, {2}, {1}}, "view 0 (offset 3, sizes [2], strides [1]) runs past the 4 elements"},
      {{0, 0, {3}, {2}}, "runs past the 4 elements of tensor 0"},
      {{0, 0, {3}, {kBig - 1}}, "runs past the 4 elements of tensor 0"},  // overflows
      {{0, 0, {uint64_t{1} << 61, 4}, {0, 0}}, "view 0: shape [2305843009213693952, 4] of "},
      {{0, 0, {0}, {1}}, "view 0 has no elements; an empty tensor is a record (tag 6)"},
      {{0, 0, {2, 0}, {1, 1}}, "view 0 has no elements"},
      {{0, 0, {3}, {0}}, "reaches an element twice; a view does not overlap itself"},
      {{0, 0, {2, 2}, {1, 1}}, "reaches an element twice"},
      {{0, 0, {4}, {1}}, "view 0 is all of tensor 0 as it is stored; that is tag 6"},
  };
  for (const auto& [row, msg] : cases) {
    SCOPED_TRACE(msg);
    expect_refused(views_file({row}, record_and_view()), msg);
  }
  std::vector<uint64_t> deep(33, 1);
  expect_refused(views_file({{0, 0, deep, deep}}, record_and_view()), "view 0: rank 33");
}

TEST(HostileViews, ViewTablesThatBreakTheIndexRulesAreRefused) {
  const ViewRow odd{0, 1, {2}, {2}};
  expect_refused(views_file({odd, odd}, list(2).raw(view_ref(0)).raw(view_ref(1))),
                 "view 1 repeats view 0");
  expect_refused(views_file({odd, {0, 0, {2}, {2}}}, list(2).raw(tensor_ref(0)).raw(view_ref(0))),
                 "view 1 is not referenced by the value tree");
  expect_refused(views_file({odd}, list(2).raw(tensor_ref(0)).raw(view_ref(1))),
                 "value refers to view 1 but the file has 1 views");
  // A record referenced by nothing, in a file with views.
  FileBuilder f(2, 1);
  const Row a = f.tensor({kCodeFloat32, {4}, f32_payload({1, 2, 3, 4})});
  const Row b = f.tensor({kCodeFloat32, {1}, f32_payload({5})});
  f.index(no_metadata(), list(1).raw(view_ref(0)), {a, b}, {odd});
  expect_refused(f.finish(), "tensor 1 is not referenced by the value tree or a view");
}

TEST(HostileViews, AViewTableTheBytesCannotHoldIsRefusedBeforeAllocating) {
  FileBuilder f(2, 1);
  const Row r = f.tensor({kCodeFloat32, {4}, f32_payload({1, 2, 3, 4})});
  Bytes p;
  p.raw(no_metadata()).raw(record_and_view()).u32(1);
  p.u64(r.offset).u64(r.payload_size).u64(r.checksum).u8(r.code).u8(1).u64(4);
  Bytes claims = p;
  claims.u32(0xFFFFFFFFu);
  f.index_payload(claims);
  const std::string huge = f.finish();
  expect_refused(huge, "truncated: view table needs");
  EXPECT_EQ(decode_everywhere("4G views claimed", huge, kNativeRefusalBound), 7);
  // A 2.1 index that stops after the tensor table, and one with a byte after the view table.
  FileBuilder g(2, 1);
  const Row r2 = g.tensor({kCodeFloat32, {4}, f32_payload({1, 2, 3, 4})});
  Bytes q;
  q.raw(no_metadata()).raw(dict_of("w", 0)).u32(1);
  q.u64(r2.offset).u64(r2.payload_size).u64(r2.checksum).u8(r2.code).u8(1).u64(4);
  Bytes missing = q;
  g.index_payload(missing);
  expect_refused(g.finish(), "truncated: u32 needs 4 bytes");
  FileBuilder h(2, 1);
  const Row r3 = h.tensor({kCodeFloat32, {4}, f32_payload({1, 2, 3, 4})});
  Bytes extra;
  extra.raw(no_metadata()).raw(dict_of("w", 0)).u32(1);
  extra.u64(r3.offset).u64(r3.payload_size).u64(r3.checksum).u8(r3.code).u8(1).u64(4);
  extra.u32(0).u8(0);
  h.index_payload(extra);
  expect_refused(h.finish(), "1 unexpected bytes after the view table");
}

TEST(HostileViews, ABadBoolByteIsFoundInWhatAViewReadsByName) {
  for (const bool inside : {true, false}) {
    FileBuilder f(2, 1);
    std::string payload = {0, 1, 0, 1, 1, 0};
    payload[inside ? 3 : 0] = 2;
    const Row r = f.tensor({kCodeBool, {6}, payload});
    f.index(no_metadata(), list(2).raw(tensor_ref(0)).raw(view_ref(0)), {r}, {{0, 2, {2}, {1}}});
    const Loaders l(f.finish());
    io::Reader verified(l.path());
    WICK_EXPECT_THROW_MSG(verified.tensor("/1"), FormatError, "bool");
    LoadOptions unverified;
    unverified.verify = false;
    io::Reader trusting(l.path(), unverified);
    if (inside) {
      WICK_EXPECT_THROW_MSG(trusting.tensor("/1"), FormatError, "bool");
    } else {
      EXPECT_EQ(trusting.tensor("/1").numel(), 2);  // the bad byte is not the view's
    }
  }
}

// Files a save never writes but a reader accepts, through the fuzz targets' cross-checks
// (tests/fuzz/fuzz_harness.h: every path agrees, sharing included, and save(load(x)) keeps it):
// a finding there aborts, so a valid way to share that the checks did not expect fails here
// before a fuzzer reports it.
TEST(HostileViews, TheFuzzHarnessAcceptsEveryValidWayToShare) {
  const std::vector<std::string> valid = {
      // A lone view of a record no value holds: saved again, it is stored compact.
      views_file({{0, 1, {2}, {2}}}, list(1).raw(view_ref(0))),
      // One view under two paths.
      views_file({{0, 1, {2}, {2}}}, list(2).raw(view_ref(0)).raw(view_ref(0))),
      // Views only, one with a size-1 dimension of any stride.
      views_file({{0, 0, {2}, {2}}, {0, 1, {1, 3}, {9, 1}}},
                 list(2).raw(view_ref(0)).raw(view_ref(1))),
      // A reshape of the record before the record: saved again, the reshape is the record.
      views_file({{0, 0, {2, 2}, {2, 1}}}, list(2).raw(view_ref(0)).raw(tensor_ref(0))),
      // A 0-d view.
      views_file({{0, 3, {}, {}}}, list(2).raw(tensor_ref(0)).raw(view_ref(0))),
  };
  TempDir dir;
  for (std::size_t i = 0; i < valid.size(); ++i) {
    SCOPED_TRACE(i);
    const auto* data = reinterpret_cast<const uint8_t*>(valid[i].data());
    EXPECT_EQ(fuzz::stream_load(data, valid[i].size()), fuzz::Outcome::kLoaded);
    const auto path = dir / ("valid" + std::to_string(i) + ".wick");
    fuzz::write_file(path, data, valid[i].size());
    EXPECT_EQ(fuzz::path_load(path), fuzz::Outcome::kLoaded);
    EXPECT_EQ(fuzz::mmap_open(path), fuzz::Outcome::kLoaded);
    EXPECT_EQ(fuzz::load_by_name(path), fuzz::Outcome::kLoaded);
  }
  // A bad bool byte outside a view: refused verified; unverified, the view loads by name while
  // its record does not.
  FileBuilder f(2, 1);
  const Row r = f.tensor({kCodeBool, {4}, std::string{2, 1, 0, 1}});
  f.index(no_metadata(), list(1).raw(view_ref(0)), {r}, {{0, 2, {2}, {1}}});
  const std::string bad = f.finish();
  const auto path = dir / "bad_bool.wick";
  fuzz::write_file(path, reinterpret_cast<const uint8_t*>(bad.data()), bad.size());
  EXPECT_EQ(fuzz::load_by_name(path), fuzz::Outcome::kRejected);
}

// FORMAT.md "Bounds": 200,000 references to one rank-32 view cost what 200,000 references to a
// rank-32 record cost (each Value holds its own shape and strides), and 200,000 rows of the view
// table cost a fixed amount per row, refused or loaded.
TEST(HostileViews, ManyReferencesAndManyRowsCostAFixedAmountPerByte) {
  constexpr uint32_t kRefs = 200'000;
  std::vector<uint64_t> ones(32, 1);
  ones[31] = 2;
  std::vector<uint64_t> strides(32, 1);
  Bytes tree = list(kRefs + 1).raw(tensor_ref(0));
  for (uint32_t i = 0; i < kRefs; ++i)
    tree.raw(view_ref(0));
  EXPECT_EQ(decode_everywhere("200k references to a rank-32 view",
                              views_file({{0, 1, ones, strides}}, tree), kNativeLoadBound),
            0);
  constexpr uint32_t kRows = 200'000;
  FileBuilder f(2, 1);
  const Row r = f.tensor({kCodeUInt8, {kRows + 1}, std::string(kRows + 1, '\1')});
  std::vector<ViewRow> rows;
  Bytes many = list(kRows);
  for (uint32_t i = 0; i < kRows; ++i) {
    rows.push_back({0, i, {1}, {1}});
    many.raw(view_ref(i));
  }
  f.index(no_metadata(), many, {r}, rows);
  EXPECT_EQ(decode_everywhere("200k view rows", f.finish(), kNativeLoadBound), 0);
  // The same rows with the last one left unreferenced: refused after all of them are read.
  FileBuilder g(2, 1);
  const Row r2 = g.tensor({kCodeUInt8, {kRows + 1}, std::string(kRows + 1, '\1')});
  Bytes unreferenced = list(kRows);
  for (uint32_t i = 0; i + 1 < kRows; ++i)
    unreferenced.raw(view_ref(i));
  unreferenced.raw(tensor_ref(0));
  g.index(no_metadata(), unreferenced, {r2}, rows);
  EXPECT_EQ(decode_everywhere("200k view rows, one unreferenced", g.finish(), kNativeRefusalBound),
            7);
}

// {long key: [t, t, ..., t]}: every reference's path repeats the key.
std::string long_key_above_many_references(std::size_t key_bytes, uint32_t references) {
  Bytes tree = dict(1).str(std::string(key_bytes, 'k')).raw(list(references));
  for (uint32_t i = 0; i < references; ++i)
    tree.raw(tensor_ref(0));
  return one_tensor_file(no_metadata(), tree);
}

TEST(HostileNative, OneLongKeyAboveManyTensorReferencesCostsTheFileNotItsPaths) {
  // 64 KiB x 16,384 = 1 GiB of paths in a 150 KB file: building them all once ran out of memory.
  const std::string bytes = long_key_above_many_references(64 << 10, 16384);
  ASSERT_LT(bytes.size(), 160'000u);
  EXPECT_EQ(decode_everywhere("long key above 16384 references", bytes, kNativeLoadBound), 0);
  const Loaders l(bytes);
  io::Reader r(l.path());
  const auto entries = r.entries();
  ASSERT_EQ(entries.size(), 16384u);
  EXPECT_EQ(entries.back().path.size(), 1 + (64u << 10) + 1 + 5);
  EXPECT_EQ(entries.back().path, "/" + std::string(64 << 10, 'k') + "/16383");
  // The tensor is found by name without spelling out every path.
  testing::expect_bounded("tensor by name, long key", bytes.size(), kNativeRefusalBound, [&] {
    EXPECT_TRUE(
        bitwise_equal(r.tensor("/" + std::string(64 << 10, 'k') + "/16383"), f32({1.5f, -2.0f})));
  });
  // And a corrupt payload is still named, by its first path only.
  std::string bad = bytes;
  bad[64 + 64] ^= 1;
  const Loaders lb(bad);
  WICK_EXPECT_THROW_MSG(io::Reader(lb.path()).tensor_by_id(0), FormatError,
                        "tensor '/" + std::string(64 << 10, 'k') + "/0' at offset 64");
}

TEST(HostileNative, MillionsOfTinyValuesCostAFixedAmountPerByte) {
  // 4 MB of `none` values, then a tensor id out of range: refused after the whole tree is read.
  constexpr uint32_t kValues = 4'000'000;
  Bytes tree = list(kValues + 1).raw(tensor_ref(0));
  tree.str().append(kValues, '\0');
  Bytes refused = list(kValues + 1).raw(tensor_ref(7));
  refused.str().append(kValues, '\0');
  const std::string bad = one_tensor_file(no_metadata(), refused);
  EXPECT_EQ(decode_everywhere("4M none values, bad tensor id", bad, kNativeRefusalBound), 7);
  // 1 MB of them loads: the Value tree is the price of asking for it.
  Bytes small = list(1'000'001).raw(tensor_ref(0));
  small.str().append(1'000'000, '\0');
  const std::string ok = one_tensor_file(no_metadata(), small);
  EXPECT_EQ(decode_everywhere("1M none values", ok, kNativeLoadBound), 0);
}

// std::hash of an integer is the integer itself, and a bucket is the hash modulo the bucket
// count, which only depends on how many keys were inserted. A dict whose int keys are all
// multiples of its final bucket count (before the constant the first hash mixed in) put every
// key in one bucket: about 10^10 steps for this 1.3 MB file. Keys now hash with a random seed.
TEST(HostileNative, IntKeysChosenToShareAHashBucketLoadInLinearTime) {
  constexpr uint32_t kKeys = 120'000;
  std::unordered_map<int64_t, std::size_t> probe;  // grows exactly as a Dict's index does
  for (uint32_t j = 0; j < kKeys; ++j)
    probe.emplace(j, j);
  const auto buckets = static_cast<int64_t>(probe.bucket_count());
  Bytes tree = keyed_dict(kKeys + 1).raw(str_key("w")).raw(tensor_ref(0));
  for (uint32_t j = 0; j < kKeys; ++j)
    tree.raw(int_key((int64_t{j} * buckets) ^ static_cast<int64_t>(0x9e3779b97f4a7c15ULL)))
        .raw(none());
  const std::string bytes = one_tensor_file(no_metadata(), tree, {}, 2);
  EXPECT_EQ(decode_everywhere("int keys in one bucket", bytes, kNativeLoadBound), 0);
  // The .pt reader builds the same dict from a pickle.
  TempDir dir;
  Dict colliding;
  for (uint32_t j = 0; j < kKeys; ++j)
    colliding.insert((int64_t{j} * buckets) ^ static_cast<int64_t>(0x9e3779b97f4a7c15ULL), nullptr);
  io::save_pytorch(Value(colliding), dir / "keys.pt");
  testing::expect_bounded("int keys in one bucket (.pt)",
                          std::filesystem::file_size(dir / "keys.pt"),
                          testing::DecodeBound{"pt load", uint64_t{24} << 20, 64.0, 0.5, 2.0},
                          [&] { EXPECT_EQ(load(dir / "keys.pt").size(), kKeys); });
}

TEST(HostileNative, ManyTensorsLoadByNameInLinearTime) {
  // 40,000 tensors loaded one by one by name: each lookup must not walk every path.
  constexpr uint32_t kTensors = 40'000;
  FileBuilder f;
  std::vector<Row> rows;
  Bytes tree = dict(kTensors);
  for (uint32_t i = 0; i < kTensors; ++i) {
    rows.push_back(f.tensor({kCodeUInt8, {1}, std::string(1, static_cast<char>(i))}));
    tree.str("layer." + std::to_string(i) + ".weight").raw(tensor_ref(i));
  }
  f.index(no_metadata(), tree, rows);
  const std::string bytes = f.finish();
  const Loaders l(bytes);
  testing::expect_bounded("40000 tensors by name", bytes.size(), kNativeRefusalBound, [&] {
    io::Reader r(l.path());
    for (uint32_t i = 0; i < kTensors; i += 1) {
      const Tensor t = r.tensor("layer." + std::to_string(i) + ".weight");
      ASSERT_EQ(t.item<uint8_t>(), static_cast<uint8_t>(i));
    }
  });
}

TEST(HostileNative, ACompleteFileFollowedByAnotherFilesRecordsIsRefusedByEveryReader) {
  // File A: {"w": [1, 2]}. Then file B's record, index and trailer: B's index lists only its own
  // record, after A's trailer. A random-access reader used to read B ([3, 4]) while the stream
  // reader read A: the records a reader uses must tile the file from the header to the index.
  FileBuilder f;
  const Row a = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.index(no_metadata(), dict_of("w", 0), {a});
  (void)f.finish();
  const Row b = f.tensor(TensorRecord(kCodeFloat32, {2}, f32_payload({3, 4})).with_id(0));
  f.index(no_metadata(), dict_of("w", 0), {b});
  const std::string bytes = f.finish();
  const Loaders l(bytes);
  const std::string msg =
      "tensor record header at offset 64: a tensor record that the index does not list";
  WICK_EXPECT_THROW_MSG(io::Reader(l.path()).tensor("/w"), FormatError, msg);
  LoadOptions unverified;
  unverified.verify = false;
  unverified.mmap = true;
  WICK_EXPECT_THROW_MSG(io::Reader(l.path(), unverified), FormatError, msg);
  WICK_EXPECT_THROW_MSG(l.file(), FormatError, "unexpected bytes after the trailer");
  WICK_EXPECT_THROW_MSG(l.mmap(), FormatError, msg);
  // The same with A's index and trailer between the two: B reuses A's record.
  FileBuilder g;
  const Row c = g.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  g.index(no_metadata(), dict_of("w", 0), {c});
  (void)g.finish();
  g.index(no_metadata(), dict_of("v", 0), {c});
  const Loaders l2(g.finish());
  WICK_EXPECT_THROW_MSG(io::Reader(l2.path()).tensor("/v"), FormatError,
                        "index record header at offset 192: a second index record that the index "
                        "does not list");
}

TEST(HostileNative, OptionalRecordsBetweenTensorsStillLoadByName) {
  FileBuilder f(1, 1);
  const Row a = f.tensor({kCodeFloat32, {2}, f32_payload({1, 2})});
  f.record(99, 1, std::string(100, 'x'));
  f.record(98, 1, "");
  const Row b = f.tensor({kCodeFloat32, {2}, f32_payload({3, 4})});
  f.record(97, 1, "tail");
  f.index(no_metadata(), dict(2).str("a").raw(tensor_ref(0)).str("b").raw(tensor_ref(1)), {a, b});
  const Loaders l(f.finish());
  io::Reader r(l.path());
  EXPECT_TRUE(bitwise_equal(r.tensor("/b"), f32({3, 4})));
  EXPECT_TRUE(bitwise_equal(r.tensor("a"), f32({1, 2})));
}

TEST(HostileNative, AFifoIsRefusedWithoutWaitingForAWriter) {
  TempDir dir;
  const auto fifo = dir / "f.wick";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO for reading used to block until some writer opened it: forever.
  WICK_EXPECT_THROW_MSG(load(fifo), IoError, "is not a regular file (a FIFO)");
  WICK_EXPECT_THROW_MSG(io::Reader{fifo}, IoError, "is not a regular file (a FIFO)");
}

}  // namespace
}  // namespace wick
