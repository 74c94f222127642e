// Hostile PyTorch checkpoints and zip archives (issue 16, classes 2 and 3): files that make a
// reader hold far more than they are, by repeating memo entries in a pickle or by inflation.
// Every case is built here, scaled to run in well under a second, and each decode is measured
// against a stated bound (tests/bounds_testing.h): it must end in a FormatError, or load
// correctly, within memory a + b * file_size.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bounds_testing.h"
#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/formats.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/wick.h"

namespace wick {
namespace {

using namespace std::string_literals;
using testing::DecodeBound;
using testing::put_le;
using testing::TempDir;

// The bounds. The pickle reader charges everything it holds (objects while reading, then the
// whole value tree, each repeated string, key, container and tensor in full) against 32 bytes
// per byte of pickle plus 8 MiB (detail::pickle_budget); on top come the pickle's own bytes,
// its stack (4 bytes per byte at most), vector growth and libzip's buffers. 64 bytes per byte
// and 24 MiB hold all of that with margin.
constexpr DecodeBound kPickleBound{"pytorch pickle", 24u << 20, 64.0, 0.5, 2.0};
// Refusing an archive: members are read only once the rest of the file has been checked, a
// member that inflates more than 4:1 is first inflated through a small buffer to check its size
// and CRC-32 before memory is allocated for it, and libzip's directory takes a few bytes per
// byte of directory. Refusals so cost at most ~5 bytes per byte of file (8 stated, as in
// FORMAT.md), and so does loading stored members (their bytes, plus a few hundred bytes of
// directory, dict entry and tensor per member). Time: one inflation of each member at most;
// zlib inflates runs of zeros at ~400 MB/s of output here, ~2.5 s per MB of file at 1032:1.
constexpr DecodeBound kZipBound{"zip refusal or stored", 8u << 20, 8.0, 0.5, 4.0};
// Loading a valid archive: its data, which deflate can make up to 1032 times its compressed
// size (each 258-byte match costs at least one bit of length code and one of distance code),
// inflated twice when it inflates more than 4:1.
constexpr DecodeBound kZipInflateBound{"zip inflation (loaded)", 8u << 20, 1040.0, 0.5, 8.0};

// --- files ---------------------------------------------------------------------------------

class HostileFile {
 public:
  HostileFile(const std::string& bytes, const std::string& name) : path_(dir_ / name) {
    testing::write_bytes(path_, {bytes.begin(), bytes.end()});
    size_ = bytes.size();
  }
  const std::filesystem::path& path() const { return path_; }
  uint64_t size() const { return size_; }

 private:
  TempDir dir_;
  std::filesystem::path path_;
  uint64_t size_ = 0;
};

// Runs `decode` on `file` within `bound`; it must refuse the file with a FormatError whose
// message contains `message`.
void expect_refused_within(const std::string& what, const HostileFile& file,
                           const DecodeBound& bound, const std::string& message,
                           const std::function<void()>& decode) {
  try {
    testing::expect_bounded(what, file.size(), bound, decode);
    ADD_FAILURE() << what << ": loaded; expected a FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
        << what << ": " << e.what() << "\nexpected to contain: " << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": expected a FormatError, got: " << e.what();
  }
}

// verify_archive inflates every member, those a load skips too: whatever it decides on a hostile
// archive, it stays within the bound of a load's inflation (FORMAT.md "Bounds").
void expect_verify_bounded(const std::string& what, const HostileFile& file) {
  try {
    testing::expect_bounded(what + " (verify_archive)", file.size(), kZipInflateBound,
                            [&] { io::verify_archive(file.path()); });
  } catch (const Error&) {
    // Refused or not, only its cost is checked here.
  }
}

// The same through each loader that reads a .pt: load_pytorch and load(path), read and mapped.
void expect_pt_refused(const std::string& what, const std::string& bytes, const DecodeBound& bound,
                       const std::string& message) {
  const HostileFile f(bytes, "hostile.pt");
  expect_refused_within(what + " (load_pytorch)", f, bound, message,
                        [&] { (void)io::load_pytorch(f.path()); });
  expect_refused_within(what + " (load)", f, bound, message, [&] { (void)load(f.path()); });
  expect_refused_within(what + " (load_pytorch mapped)", f, bound, message,
                        [&] { (void)io::load_pytorch(f.path(), /*mmap=*/true); });
  expect_refused_within(what + " (load mapped)", f, bound, message,
                        [&] { (void)load(f.path(), testing::read_options(true, true)); });
  expect_verify_bounded(what, f);
}

void expect_npz_refused(const std::string& what, const std::string& bytes, const DecodeBound& bound,
                        const std::string& message) {
  const HostileFile f(bytes, "hostile.npz");
  expect_refused_within(what + " (load_npz)", f, bound, message,
                        [&] { (void)io::load_npz(f.path()); });
  expect_refused_within(what + " (load)", f, bound, message, [&] { (void)load(f.path()); });
  expect_refused_within(what + " (load_npz mapped)", f, bound, message,
                        [&] { (void)io::load_npz(f.path(), /*mmap=*/true); });
  expect_refused_within(what + " (load mapped)", f, bound, message,
                        [&] { (void)load(f.path(), testing::read_options(true, true)); });
  expect_verify_bounded(what, f);
}

// --- pickles -------------------------------------------------------------------------------

std::string unicode(std::string_view s) {
  std::string out = "X";
  put_le(out, s.size(), 4);
  return out + std::string(s);
}
std::string global(std::string_view module, std::string_view name) {
  std::string out = "c";  // appended: GCC 12 misreads "literal" + string (-Wrestrict, PR105329)
  out.append(module).append("\n").append(name).append("\n");
  return out;
}
std::string small_int(int v) {
  return std::string("K") + static_cast<char>(v);
}
std::string int_tuple(const std::vector<int>& v) {
  std::string out = "(";
  for (int x : v)
    out += small_int(x);
  return out + "t";
}
std::string pickle(const std::string& body) {
  return "\x80\x02" + body + ".";
}
std::string binint(uint32_t v) {
  std::string out = "J";
  put_le(out, v, 4);
  return out;
}
// Pushes a bare storage (a persistent id), which reads as a 1-d tensor over all of it.
std::string storage_pid(std::string_view cls, std::string_view key, uint32_t numel) {
  return std::string("(") + unicode("storage") + global("torch", cls) + unicode(key) +
         unicode("cpu") + binint(numel) + "tQ";
}
// Pushes a tensor over storage `key`: _rebuild_tensor_v2(storage, 0, size, stride, False,
// OrderedDict()).
std::string tensor_pickle(std::string_view cls, std::string_view key, int numel,
                          const std::vector<int>& size, const std::vector<int>& stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
         global("torch", cls) + unicode(key) + unicode("cpu") + small_int(numel) + "tQ" +
         small_int(0) + int_tuple(size) + int_tuple(stride) + "\x89" +
         global("collections", "OrderedDict") + ")Rt" + "R";
}
// A list holding memo entry 0 `n` times, in APPENDS batches of 1000 as Python writes them.
std::string list_of_refs(std::size_t n) {
  std::string out = "]";
  for (std::size_t at = 0; at < n; at += 1000) {
    out += "(";
    for (std::size_t k = at; k < std::min(n, at + 1000); ++k)
      out += "h\x00"s;
    out += "e";
  }
  return out;
}

// "<prefix><i>.npy".
std::string member_name(std::string prefix, std::size_t i) {
  return prefix.append(std::to_string(i)).append(".npy");
}

// --- deflate, by hand --------------------------------------------------------------------

uint32_t crc32_of(std::string_view data, uint32_t crc = 0) {
  uint32_t c = ~crc;
  for (char ch : data) {
    c ^= static_cast<uint8_t>(ch);
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// a * b modulo the CRC-32 polynomial, both reflected (zlib's multmodp).
uint32_t mult_mod_p(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31;
  uint32_t p = 0;
  while (true) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ 0xEDB88320u : b >> 1;
  }
  return p;
}

// The CRC-32 of data whose CRC-32 is `crc`, followed by `n` zero bytes, without the zeros:
// each zero byte multiplies the register by x^8.
uint32_t crc32_zeros(uint32_t crc, uint64_t n) {
  uint32_t power = 1u << 23;  // x^8
  uint32_t reg = ~crc;
  for (; n != 0; n >>= 1) {
    if (n & 1) reg = mult_mod_p(power, reg);
    power = mult_mod_p(power, power);
  }
  return ~reg;
}

class BitWriter {
 public:
  void bits(uint32_t v, int count) {
    acc_ |= static_cast<uint64_t>(v) << n_;
    n_ += count;
    while (n_ >= 8) {
      out_ += static_cast<char>(acc_ & 0xFF);
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  // A Huffman code, which deflate writes from its most significant bit.
  void code(uint32_t c, int len) {
    uint32_t r = 0;
    for (int i = 0; i < len; ++i)
      r |= ((c >> i) & 1u) << (len - 1 - i);
    bits(r, len);
  }
  void align() {
    if (n_ > 0) bits(0, 8 - n_);
  }
  bool aligned() const { return n_ == 0; }
  std::string& out() { return out_; }

 private:
  std::string out_;
  uint64_t acc_ = 0;
  int n_ = 0;
};

// A raw deflate stream of `prefix` (in a stored block) then 1 + 258 * matches zero bytes, at
// deflate's densest: one dynamic block whose only codes are the literal 0 (2 bits), end of
// block (2 bits), length 258 (1 bit) and distance 1 (1 bit), so each 258 bytes cost 2 bits.
std::string deflate_zeros(const std::string& prefix, uint64_t matches) {
  BitWriter w;
  if (!prefix.empty()) {
    w.bits(0, 3);  // not final, stored
    w.align();
    w.bits(static_cast<uint32_t>(prefix.size()), 16);
    w.bits(static_cast<uint32_t>(~prefix.size() & 0xFFFF), 16);
    w.out() += prefix;
  }
  w.bits(1, 1);   // final
  w.bits(2, 2);   // dynamic Huffman
  w.bits(29, 5);  // HLIT: 286 literal/length codes
  w.bits(0, 5);   // HDIST: 1 distance code
  w.bits(14, 4);  // HCLEN: 18 code length codes
  // Code lengths of the code length alphabet, in deflate's order 16 17 18 0 8 7 9 6 10 5 11 4
  // 12 3 13 2 14 1: symbol 18 (a run of zeros) 1 bit, symbols 1 and 2 two bits.
  constexpr std::array<int, 18> kClens = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2};
  for (int len : kClens)
    w.bits(static_cast<uint32_t>(len), 3);
  // Canonical codes: 18 -> 0, 1 -> 10, 2 -> 11.
  const auto zeros = [&](int n) {  // n in 11..138
    w.code(0, 1);
    w.bits(static_cast<uint32_t>(n - 11), 7);
  };
  w.code(3, 2);  // literal 0: length 2
  zeros(138);
  zeros(117);    // literals 1..255: unused
  w.code(3, 2);  // end of block: length 2
  zeros(28);     // lengths 257..284: unused
  w.code(2, 2);  // length 258 (symbol 285): length 1
  w.code(2, 2);  // distance 1: length 1
  // Canonical codes: 285 -> 0, literal 0 -> 10, end of block -> 11; distance 1 -> 0.
  w.code(2, 2);  // the literal 0
  uint64_t left = matches;
  while (left > 0 && !w.aligned()) {
    w.bits(0, 2);  // length 258, distance 1
    --left;
  }
  w.out().append(left / 4, '\0');  // four matches per zero byte
  for (left %= 4; left > 0; --left)
    w.bits(0, 2);
  w.code(3, 2);  // end of block
  w.align();
  return std::move(w.out());
}

// --- zip, by hand ------------------------------------------------------------------------

// A member as it sits in the archive: `body` is what the file holds (raw deflate or stored).
struct RawMember {
  std::string name;
  std::string body;
  bool deflated = false;
  uint32_t crc = 0;
  uint64_t size = 0;  // uncompressed
};

std::string local_header(const RawMember& m) {
  std::string h;
  put_le(h, 0x04034b50, 4);
  put_le(h, 20, 2);                  // version needed
  put_le(h, 0, 2);                   // flags
  put_le(h, m.deflated ? 8 : 0, 2);  // method
  put_le(h, 0, 2);                   // time
  put_le(h, 0x21, 2);                // date: 1980-01-01
  put_le(h, m.crc, 4);
  put_le(h, m.body.size(), 4);
  put_le(h, m.size, 4);
  put_le(h, m.name.size(), 2);
  put_le(h, 0, 2);  // extra length
  return h + m.name;
}

// The central directory entry of `m`, whose local header is at `offset`.
std::string central_entry(const RawMember& m, uint64_t offset) {
  std::string c;
  put_le(c, 0x02014b50, 4);
  put_le(c, 20, 2);                    // version made by
  c += local_header(m).substr(4, 26);  // "version needed" to "extra length", as in the local one
  put_le(c, 0, 2);                     // comment length
  put_le(c, 0, 2);                     // disk
  put_le(c, 0, 2);                     // internal attributes
  put_le(c, 0, 4);                     // external attributes
  put_le(c, offset, 4);
  return c + m.name;
}

std::string end_of_directory(std::size_t entries, uint64_t cd_size, uint64_t cd_offset) {
  std::string e;
  put_le(e, 0x06054b50, 4);
  put_le(e, 0, 2);
  put_le(e, 0, 2);
  put_le(e, entries, 2);
  put_le(e, entries, 2);
  put_le(e, cd_size, 4);
  put_le(e, cd_offset, 4);
  put_le(e, 0, 2);
  return e;
}

std::string raw_zip(const std::vector<RawMember>& members) {
  std::string out;
  std::string central;
  for (const RawMember& m : members) {
    central += central_entry(m, out.size());
    out += local_header(m) + m.body;
  }
  const uint64_t cd_offset = out.size();
  return out + central + end_of_directory(members.size(), central.size(), cd_offset);
}

// A member holding `prefix` then 1 + 258 * matches zeros, deflated at 1032:1; `crc_ok` false
// gives it a wrong CRC-32.
RawMember zeros_member(const std::string& name, const std::string& prefix, uint64_t matches,
                       bool crc_ok = true) {
  const uint64_t zeros = 1 + 258 * matches;
  const uint32_t crc = crc32_zeros(crc32_of(prefix), zeros);
  return {name, deflate_zeros(prefix, matches), true, crc_ok ? crc : crc ^ 1u,
          prefix.size() + zeros};
}

std::string npy_header(const std::string& descr, uint64_t count) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                     std::to_string(count) + ",), }";
  dict.append(128 - 10 - dict.size() - 1, ' ');
  std::string out = "\x93NUMPY\x01\x00"s;
  put_le(out, dict.size() + 1, 2);
  return out + dict + "\n";
}

// An npz member: a uint8 array of 1 + 258 * matches zeros.
RawMember npy_zeros_member(const std::string& key, uint64_t matches, bool crc_ok = true) {
  return zeros_member(key + ".npy", npy_header("|u1", 1 + 258 * matches), matches, crc_ok);
}

// A .pt whose pickle is `pkl` (stored) and whose storages are `storages`.
std::string pt_archive(const std::string& pkl, std::vector<RawMember> storages = {}) {
  std::vector<RawMember> m{{"archive/data.pkl", pkl, false, crc32_of(pkl), pkl.size()}};
  for (auto& s : storages) {
    s.name = "archive/data/" + s.name;
    m.push_back(std::move(s));
  }
  m.push_back({"archive/version", "3\n", false, crc32_of("3\n"), 2});
  return raw_zip(m);
}

// 32 MiB of zeros from 32 KiB: big enough to stand out of every bound, quick to inflate.
constexpr uint64_t kBombMatches = (uint64_t{32} << 20) / 258;

TEST(HostileZip, HandBuiltDeflateInflatesToWhatItClaims) {
  const RawMember m = npy_zeros_member("z", 1000);
  EXPECT_LT(m.body.size(), 128u + 5 + 20 + 250 + 2);  // the header, then 2 bits per 258 zeros
  const HostileFile f(raw_zip({m}), "ok.npz");
  const Value v = io::load_npz(f.path());
  const Tensor& t = v["z"].tensor();
  ASSERT_EQ(t.numel(), 1 + 258 * 1000);
  const auto* p = static_cast<const uint8_t*>(t.raw_data());
  EXPECT_EQ(std::count(p, p + t.numel(), 0), t.numel());
  EXPECT_EQ(crc32_zeros(crc32_of("ab"), 3), crc32_of("ab\0\0\0"s));
}

// --- class 2: pickle memo amplification ------------------------------------------------------

TEST(HostilePickle, AMemoizedStringRepeatedIsCountedInFull) {
  // One 16 KiB string, 4096 references: 64 MiB of copies from 24 KB.
  const std::string body =
      unicode(std::string(16 << 10, 's')) + "q\x00"s + "0" + list_of_refs(4096);
  expect_pt_refused("memo string x4096", pt_archive(pickle(body)), kPickleBound,
                    "the value tree would have more than");
}

TEST(HostilePickle, ADuplicatedStringIsCountedInFull) {
  // DUP repeats the top of the stack for one byte each: 4096 copies of 16 KiB from 20 KB.
  const std::string body =
      "](" + unicode(std::string(16 << 10, 's')) + std::string(4095, '2') + "e";
  expect_pt_refused("DUP string x4096", pt_archive(pickle(body)), kPickleBound,
                    "the value tree would have more than");
}

TEST(HostilePickle, OneByteValuesByTheHundredThousandAreCountedInFull) {
  // Each None is one byte of pickle and a 112-byte Value; each empty list a further arena
  // entry. The old limit of 4 nodes per pickle byte let 450 bytes per byte through.
  const std::string nones = "](" + std::string(1 << 19, 'N') + "e";
  expect_pt_refused("524,288 Nones", pt_archive(pickle(nones)), kPickleBound,
                    "the value tree would have more than");
  const std::string lists = "](" + std::string(500000, ']') + "e";
  expect_pt_refused("500,000 empty lists", pt_archive(pickle(lists)), kPickleBound,
                    "the objects the pickle builds would take more than");
}

TEST(HostilePickle, AMemoizedDictKeyRepeatedIsCountedInFull) {
  // 2048 dicts, each keyed by the same 16 KiB string: a dict holds its key twice, 64 MiB.
  std::string body = unicode(std::string(16 << 10, 'k')) + "q\x00"s + "0]";
  for (int i = 0; i < 2048; ++i)
    body += "}h\x00Nsa"s;
  expect_pt_refused("memo dict key x2048", pt_archive(pickle(body)), kPickleBound,
                    "the value tree would have more than");
}

TEST(HostilePickle, AMemoizedContainerRepeatedIsCountedInFull) {
  // A list of 100,000 Nones referenced 4 times: 400,000 values (45 MiB) from 100 KB, which the
  // old limit of 4 nodes per pickle byte let through.
  std::string list = "]";
  for (int at = 0; at < 100000; at += 1000)
    list += "(" + std::string(1000, 'N') + "e";
  const std::string body = list + "q\x00"s + "0" + list_of_refs(4);
  expect_pt_refused("memo list x4", pt_archive(pickle(body)), kPickleBound,
                    "the value tree would have more than");
}

TEST(HostilePickle, AMemoizedTensorRepeatedIsCountedInFull) {
  // A 64-dimensional view (1 KiB of shape and strides), referenced 40,000 times: 45 MiB.
  const std::vector<int> ones(64, 1);
  const std::string t = tensor_pickle("FloatStorage", "0", 1, ones, ones);
  const std::string body = t + "q\x00"s + "0" + list_of_refs(40000);
  const std::string f32(4, '\0');
  expect_pt_refused("memo tensor x40000",
                    pt_archive(pickle(body), {{"0", f32, false, crc32_of(f32), 4}}), kPickleBound,
                    "the value tree would have more than");
}

// _rebuild_tensor_v2 over an empty float storage "0" at `offset`, with the given size and
// stride tuples.
std::string empty_storage_view(const std::string& size, const std::string& stride, int offset) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
         global("torch", "FloatStorage") + unicode("0") + unicode("cpu") + small_int(0) + "tQ" +
         small_int(offset) + size + stride + "\x89" + global("collections", "OrderedDict") + ")Rt" +
         "R";
}

TEST(HostilePickle, EmptyViewsPastTheirStorageLoadAndHugeEmptyShapesAreRefused) {
  // torch.empty(5, 0)[3]: PyTorch keeps offset 3 on a storage of no element; it loads, empty.
  const RawMember none_stored{"0", "", false, crc32_of(""), 0};
  const HostileFile ok(
      pt_archive(pickle(empty_storage_view(int_tuple({0}), int_tuple({1}), 3)), {none_stored}),
      "ok.pt");
  const Value v = load(ok.path());
  EXPECT_EQ(v.tensor().numel(), 0);
  EXPECT_EQ(v.tensor().shape(), (Shape{0}));
  // [0, 2^62, 2^62] is empty, but the native reader refuses such a shape: so does this one.
  std::string huge = "\x8a\x08";  // LONG1 of 8 bytes: 2^62
  huge.append(7, '\0');
  huge += '\x40';
  // Appended, not `"(" + ...`: GCC 12 warns (-Wrestrict) wrongly on that form here.
  std::string size = "(";
  size += small_int(0);
  size += huge + huge + "t";
  const HostileFile bad(
      pt_archive(pickle(empty_storage_view(size, int_tuple({1, 1, 1}), 0)), {none_stored}),
      "bad.pt");
  WICK_EXPECT_THROW_MSG(load(bad.path()), FormatError, "overflows 2^62 bytes");
}

TEST(HostilePickle, ARefusedPickleReadsNoStorage) {
  // A valid 32 MiB storage (deflated from 32 KiB) that the pickle refers to before failing: no
  // storage is read until the whole pickle has passed.
  RawMember storage = zeros_member("0", "", kBombMatches);
  const std::string body = storage_pid("ByteStorage", "0", static_cast<uint32_t>(storage.size)) +
                           "0" + global("os", "system");
  expect_pt_refused("pickle refused after a 32 MiB storage",
                    pt_archive(pickle(body), {std::move(storage)}), kZipBound,
                    "unsupported global 'os.system'");
}

TEST(HostilePickle, ADeflatedPickleMayNotInflateBeyondItsBudget) {
  // data.pkl itself a bomb: 32 MiB of zeros (a valid CRC) from 32 KiB.
  RawMember pkl = zeros_member("archive/data.pkl", "", kBombMatches);
  expect_pt_refused("32 MiB data.pkl from 32 KiB", raw_zip({std::move(pkl)}), kZipBound,
                    "exceeds the limit of");
}

TEST(HostilePickle, LegitPicklesLoadWithinTheBound) {
  // A state dict of 2000 small tensors over one storage, keys as a model's.
  std::string body = global("collections", "OrderedDict") + ")R" + "q\x00"s + "(";
  for (int i = 0; i < 2000; ++i) {
    body += unicode("model.layers." + std::to_string(i) + ".attention.weight");
    body += tensor_pickle("FloatStorage", "0", 4, {2, 2}, {2, 1});
  }
  body += "u";
  const std::string data(16, '\0');
  const HostileFile f(pt_archive(pickle(body), {{"0", data, false, crc32_of(data), 16}}), "ok.pt");
  testing::expect_bounded("state dict of 2000 tensors", f.size(), kPickleBound, [&] {
    const Value v = io::load_pytorch(f.path());
    EXPECT_EQ(v.dict().size(), 2000u);
  });
  // Memo references a real checkpoint makes (a shared string, a shared tensor) still load.
  const std::string shared = unicode("shared") + "q\x00"s + "0" + list_of_refs(100);
  const HostileFile g(pt_archive(pickle(shared)), "shared.pt");
  testing::expect_bounded("a string shared 100 times", g.size(), kPickleBound, [&] {
    const Value v = io::load_pytorch(g.path());
    ASSERT_EQ(v.list().size(), 100u);
    EXPECT_EQ(v[99].as_string(), "shared");
  });
}

// --- class 3: zip bombs --------------------------------------------------------------------

TEST(HostileZip, AnNpzBombWithAWrongCrcIsRefusedBeforeAllocation) {
  expect_npz_refused("32 MiB npz member, wrong CRC",
                     raw_zip({npy_zeros_member("a", kBombMatches, false)}), kZipBound, "CRC error");
}

TEST(HostileZip, APtBombWithAWrongCrcIsRefusedBeforeAllocation) {
  RawMember storage = zeros_member("0", "", kBombMatches, false);
  const std::string body = storage_pid("ByteStorage", "0", static_cast<uint32_t>(storage.size));
  expect_pt_refused("32 MiB pt storage, wrong CRC", pt_archive(pickle(body), {std::move(storage)}),
                    kZipBound, "CRC error");
}

TEST(HostileZip, AMemberThatInflatesShortOfItsDeclaredSizeIsRefusedBeforeAllocation) {
  // The directory claims 32 MiB; the stream holds 1 MiB (a CRC that would match 32 MiB).
  RawMember m = npy_zeros_member("a", kBombMatches);
  const std::size_t comp = m.body.size();
  m.body = deflate_zeros(npy_header("|u1", 1 + 258 * kBombMatches), kBombMatches / 32);
  m.body.resize(comp, '\0');  // padded after the stream's end, so as plausible as before
  expect_npz_refused("npz member 32x shorter than declared", raw_zip({m}), kZipBound, "CRC error");
}

TEST(HostileZip, AValidMemberBeforeACorruptOneIsNotInflatedFirst) {
  // Every member that inflates much is checked before any is allocated.
  expect_npz_refused(
      "valid 32 MiB member, then a corrupt one",
      raw_zip({npy_zeros_member("a", kBombMatches), npy_zeros_member("b", kBombMatches, false)}),
      kZipBound, "member 'b.npy': CRC error");
}

// Members that overlap (after D. Fifield, "A better zip bomb"): member i's deflate stream
// quotes, in a stored block, its npy header and member i+1's local header, then runs on into
// member i+1's data, so that all of them end in one shared 1032:1 kernel. The file is
//   LH0 [SB: npy0 LH1] [SB: npy1 LH2] ... [SB: npy(n-1)] kernel  directory
// and each member is a valid uint8 array with its own CRC-32: the archive inflates to
// members x kernel.
std::string overlapping_npz(int members, uint64_t matches) {
  const uint64_t zeros = 1 + 258 * matches;
  const auto n = static_cast<std::size_t>(members);
  std::vector<RawMember> m(n);
  std::string content;  // member i+1's content before its zeros, then member i's
  std::string data = deflate_zeros("", matches);  // member i+1's data, then member i's
  for (std::size_t i = n; i-- > 0;) {
    const std::string next = i + 1 < n ? local_header(m[i + 1]) : std::string();
    const std::string quote = npy_header("|u1", next.size() + content.size() + zeros) + next;
    std::string block = "\x00"s;  // a stored block, not the final one
    put_le(block, quote.size(), 2);
    put_le(block, ~quote.size() & 0xFFFF, 2);
    content = quote + content;
    data = block + quote + data;
    m[i] = {member_name("m", i), data, true, crc32_zeros(crc32_of(content), zeros),
            content.size() + zeros};
  }
  const std::string out = local_header(m[0]) + m[0].body;
  std::string central;
  for (std::size_t i = 0; i < n; ++i) {
    // Member i's data sits where member i-1's quote ends, its local header just before.
    const uint64_t data_at = out.size() - m[i].body.size();
    central += central_entry(m[i], data_at - local_header(m[i]).size());
  }
  return out + central + end_of_directory(n, central.size(), out.size());
}

TEST(HostileZip, OverlappingMembersAreRefused) {
  // 16 members of 8 MiB from one 8 KiB kernel: 128 MiB from 10 KB.
  expect_npz_refused("16 overlapping 8 MiB members", overlapping_npz(16, (8u << 20) / 258),
                     kZipBound, "members overlap");
}

TEST(HostileZip, DirectoriesThatLieAreRefusedWithinTheBound) {
  const std::string one = npy_header("<f4", 1) + "\0\0\x80\x3f"s;
  const RawMember a{"a.npy", one, false, crc32_of(one), one.size()};
  // Duplicate names.
  expect_npz_refused("duplicate names", raw_zip({a, a}), kZipBound, "not a readable zip archive");
  // A count of 65535 entries over a directory of one.
  std::string counted = raw_zip({a});
  counted[counted.size() - 14] = counted[counted.size() - 13] = '\xff';
  counted[counted.size() - 12] = counted[counted.size() - 11] = '\xff';
  expect_npz_refused("65535 entries claimed", counted, kZipBound, "not a readable zip archive");
  // A compressed size in the directory beyond the local header's.
  std::string sized = raw_zip({a});
  const std::size_t cd = sized.rfind("PK\x01\x02"s);
  sized[cd + 20] = '\x7f';
  expect_npz_refused("directory size beyond the local one", sized, kZipBound,
                     "not a readable zip archive");
  // A stored member claiming more than the archive.
  RawMember big = a;
  big.size = uint64_t{1} << 31;
  expect_npz_refused("stored member of 2 GiB", raw_zip({big}), kZipBound, "occupies");
}

TEST(HostileZip, ManyMembersCostTheirBytesOnly) {
  // 20,000 one-element arrays: loaded, at a few bytes per byte of file.
  const std::string one = npy_header("|u1", 1) + "\x07"s;
  std::vector<RawMember> m;
  for (int i = 0; i < 20000; ++i)
    m.push_back(
        {member_name("k", static_cast<std::size_t>(i)), one, false, crc32_of(one), one.size()});
  const HostileFile f(raw_zip(m), "many.npz");
  testing::expect_bounded("20000 members", f.size(), kZipBound,
                          [&] { EXPECT_EQ(io::load_npz(f.path()).dict().size(), 20000u); });
}

TEST(HostileZip, LegitArchivesLoadWithinTheBound) {
  // Deflated at 1032:1 with a valid CRC: loads, and costs what it holds.
  const HostileFile z(raw_zip({npy_zeros_member("a", kBombMatches)}), "zeros.npz");
  testing::expect_bounded("32 MiB of zeros, deflated", z.size(), kZipInflateBound, [&] {
    EXPECT_EQ(io::load_npz(z.path())["a"].tensor().numel(), 1 + 258 * kBombMatches);
  });
  testing::expect_bounded("32 MiB of zeros, deflated (load)", z.size(), kZipInflateBound, [&] {
    EXPECT_EQ(load(z.path())["a"].tensor().numel(), 1 + 258 * kBombMatches);
  });
  // Stored: never more than the file.
  const Tensor t = testing::random_values({4 << 20}, kFloat32, 7, -1, 1);
  TempDir dir;
  io::save_pytorch(Value(Dict{{"w", t}}), dir / "w.pt");
  const uint64_t size = std::filesystem::file_size(dir / "w.pt");
  testing::expect_bounded("16 MiB .pt", size, kZipBound, [&] {
    EXPECT_EQ(io::load_pytorch(dir / "w.pt")["w"].tensor().numel(), t.numel());
  });
  io::save_npz(Value(Dict{{"w", t}}), dir / "w.npz");
  testing::expect_bounded("16 MiB .npz", size, kZipBound, [&] {
    EXPECT_EQ(io::load_npz(dir / "w.npz")["w"].tensor().numel(), t.numel());
  });
}

}  // namespace
}  // namespace wick
