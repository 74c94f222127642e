// Every single-bit flip and every truncation of a real file must be refused with FormatError,
// by every way of reading it, and the message must say what and where.

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::read_u64;
using testing::TempDir;
using testing::write_bytes;

using testing::kSanitized;

// Sanitized builds try every 13th bit (13 is odd, so every bit position within a byte is still
// reached); Release tries all of them.
constexpr std::size_t kBitStride = kSanitized ? 13 : 1;

// The tutorial's MLP (Linear 20->256, Linear 256->10) as a state dict, saved to bytes.
std::vector<char> mlp_file() {
  Generator g(42);
  const Value state = Dict{{"hidden.weight", randn({256, 20}, g)},
                           {"hidden.bias", randn({256}, g)},
                           {"output.weight", randn({10, 256}, g)},
                           {"output.bias", randn({10}, g)}};
  std::ostringstream out;
  save(state, out);
  const std::string s = out.str();
  return {s.begin(), s.end()};
}

std::string as_string(const std::vector<char>& b) {
  return {b.begin(), b.end()};
}

void flip(std::vector<char>& b, std::size_t bit) {
  b[bit / 8] = static_cast<char>(b[bit / 8] ^ (1 << (bit % 8)));
}

// Flips one bit of the file at `path` in place: much cheaper than rewriting the file.
void flip(const std::filesystem::path& path, std::size_t bit) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(bit / 8));
  const auto c = static_cast<char>(f.get() ^ (1 << (bit % 8)));
  f.seekp(static_cast<std::streamoff>(bit / 8));
  f.put(c);
  ASSERT_TRUE(f.good()) << "cannot patch " << path;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

enum class Outcome { Refused, Accepted, WrongError };

template <class F>
Outcome outcome(F&& f, std::string* message = nullptr) {
  try {
    f();
    return Outcome::Accepted;
  } catch (const FormatError&) {
    return Outcome::Refused;
  } catch (const std::exception& e) {
    if (message != nullptr) *message = e.what();
    return Outcome::WrongError;
  }
}

// Counts refusals; remembers the first few misses for the failure message.
struct Tally {
  std::size_t tried = 0;
  std::size_t detected = 0;
  std::vector<std::string> misses;

  template <class F, class L>
  void run(F&& f, L&& label) {
    ++tried;
    std::string message;
    switch (outcome(f, &message)) {
      case Outcome::Refused:
        ++detected;
        return;
      case Outcome::Accepted:
        if (misses.size() < 10) misses.push_back(label_of(label) + ": accepted");
        return;
      case Outcome::WrongError:
        if (misses.size() < 10) misses.push_back(label_of(label) + ": " + message);
        return;
    }
  }
  template <class L>
  static std::string label_of(L& label) {
    if constexpr (std::is_invocable_v<L&>) {
      return label();
    } else {
      return std::string(label);
    }
  }
  std::string report() const {
    std::string s;
    for (const auto& m : misses)
      s += "\n  " + m;
    return s;
  }
};

TEST(Corruption, TheMlpFileIsIntact) {
  const std::vector<char> bytes = mlp_file();
  std::istringstream in(as_string(bytes));
  const Value v = load(in);
  EXPECT_EQ(v.dict().keys(),
            (std::vector<Key>{"hidden.weight", "hidden.bias", "output.weight", "output.bias"}));
  EXPECT_EQ(v["hidden.weight"].tensor().shape(), (Shape{256, 20}));
  EXPECT_EQ(v["output.bias"].tensor().shape(), (Shape{10}));
  EXPECT_GT(bytes.size(), 30000u);
}

TEST(Corruption, EveryBitFlipIsDetectedByStreamLoad) {
  std::string bytes = as_string(mlp_file());
  Tally tally;
  const std::size_t bits = bytes.size() * 8;
  std::istringstream in;  // reused: str() refills it without rebuilding the stream
  for (std::size_t bit = 0; bit < bits; bit += kBitStride) {
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
    in.str(bytes);
    in.clear();
    tally.run([&] { load(in); }, [&] { return "bit " + std::to_string(bit); });
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
  }
  std::cout << "bit flips: " << tally.tried << " tried, " << tally.detected << " detected"
            << (kSanitized ? " (sanitized build: every 13th bit)" : "") << "\n";
  EXPECT_EQ(tally.tried, (bits + kBitStride - 1) / kBitStride);
  EXPECT_EQ(tally.detected, tally.tried) << tally.report();
}

TEST(Corruption, SampledBitFlipsAreDetectedByEveryFileLoader) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  const std::vector<char> bytes = mlp_file();
  write_bytes(path, bytes);
  LoadOptions mmap;
  mmap.mmap = true;
  Tally by_load, by_value, by_verify, by_mmap, by_mmap_reader;
  for (std::size_t bit = 0; bit < bytes.size() * 8; bit += 97) {
    flip(path, bit);
    const std::string at = "bit " + std::to_string(bit);
    by_load.run([&] { load(path); }, at);
    by_value.run([&] { io::Reader(path).value(); }, at);
    by_verify.run([&] { io::Reader(path).verify(); }, at);
    by_mmap.run([&] { load(path, mmap); }, at);
    by_mmap_reader.run([&] { io::Reader(path, mmap).value(); }, at);
    flip(path, bit);
  }
  EXPECT_EQ(testing::read_bytes(path), bytes);
  std::cout << "bit flips via paths: " << by_load.tried << " tried; detected by load(path) "
            << by_load.detected << ", Reader::value " << by_value.detected << ", Reader::verify "
            << by_verify.detected << ", load(path, mmap) " << by_mmap.detected << "\n";
  EXPECT_GT(by_load.tried, 2500u);
  EXPECT_EQ(by_load.detected, by_load.tried) << by_load.report();
  EXPECT_EQ(by_value.detected, by_value.tried) << by_value.report();
  EXPECT_EQ(by_verify.detected, by_verify.tried) << by_verify.report();
  EXPECT_EQ(by_mmap.detected, by_mmap.tried) << by_mmap.report();
  EXPECT_EQ(by_mmap_reader.detected, by_mmap_reader.tried) << by_mmap_reader.report();
}

TEST(Corruption, SampledBitFlipsInAPayloadAreDetectedByReaderTensor) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  const std::vector<char> bytes = mlp_file();
  write_bytes(path, bytes);
  const auto entries = io::Reader(path).entries();
  ASSERT_EQ(entries.size(), 4u);
  Tally tally;
  for (const io::EntryInfo& e : entries) {
    // Rank 1 and 2 records have a 64-byte header; the payload follows it.
    const std::size_t first = (e.offset + 64) * 8;
    for (std::size_t bit = first; bit < first + e.nbytes * 8; bit += 89) {
      flip(path, bit);
      tally.run([&] { io::Reader(path).tensor(e.path.str()); },
                [&] { return e.path.str() + " bit " + std::to_string(bit); });
      flip(path, bit);
    }
  }
  EXPECT_GT(tally.tried, 2000u);
  EXPECT_EQ(tally.detected, tally.tried) << tally.report();
}

TEST(Corruption, EveryTruncationIsDetected) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  const std::vector<char> bytes = mlp_file();
  const std::string full = as_string(bytes);
  write_bytes(path, bytes);
  // Sanitized builds sample the path loaders (each opens the file anew).
  const std::size_t path_stride = kSanitized ? 7 : 1;
  Tally by_stream, by_load, by_reader;
  for (std::size_t n = bytes.size(); n-- > 0;) {
    const std::string at = "length " + std::to_string(n);
    by_stream.run(
        [&] {
          std::istringstream in(full.substr(0, n));
          load(in);
        },
        at);
    if (n % path_stride != 0) continue;
    std::filesystem::resize_file(path, n);  // shrinking only, so no rewrite is needed
    by_load.run([&] { load(path); }, at);
    by_reader.run([&] { io::Reader r(path); }, at);
  }
  std::cout << "truncations: " << by_stream.tried << " tried, " << by_stream.detected
            << " detected by load(istream); " << by_load.tried << " tried, " << by_load.detected
            << " detected by load(path), " << by_reader.detected << " by Reader(path)\n";
  EXPECT_EQ(by_stream.tried, bytes.size());
  EXPECT_EQ(by_stream.detected, by_stream.tried) << by_stream.report();
  EXPECT_EQ(by_load.detected, by_load.tried) << by_load.report();
  EXPECT_EQ(by_reader.detected, by_reader.tried) << by_reader.report();
}

TEST(Corruption, TruncationMessagesSayTruncated) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  std::vector<char> bytes = mlp_file();
  bytes.pop_back();
  write_bytes(path, bytes);
  std::istringstream in(as_string(bytes));
  WICK_EXPECT_THROW_MSG(load(in), FormatError, "truncated");
  WICK_EXPECT_THROW_MSG(load(path), FormatError, "truncated");
  // The last 64 bytes are no longer a trailer.
  WICK_EXPECT_THROW_MSG(io::Reader{path}, FormatError, "end magic WICKEND missing");
  bytes.resize(100);
  write_bytes(path, bytes);
  WICK_EXPECT_THROW_MSG(io::Reader{path}, FormatError, "truncated: 100 bytes");
}

// Flips one bit at byte `at` and returns what load(istream) says.
std::string stream_error(std::vector<char> bytes, std::size_t at, int bit = 0) {
  flip(bytes, at * 8 + static_cast<std::size_t>(bit));
  std::istringstream in(as_string(bytes));
  try {
    load(in);
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "a flip at byte " << at << " was accepted";
  return "";
}

TEST(Corruption, APayloadFlipNamesTheEntryOffsetAndBothChecksums) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  std::vector<char> bytes = mlp_file();
  write_bytes(path, bytes);
  io::EntryInfo bias;
  for (const auto& e : io::Reader(path).entries())
    if (e.path == "/hidden.bias") bias = e;
  ASSERT_EQ(bias.nbytes, 256u * 4);
  const std::size_t at = bias.offset + 64 + 37;
  flip(bytes, at * 8 + 3);
  const uint64_t actual = io::checksum(bytes.data() + bias.offset + 64, bias.nbytes);
  ASSERT_NE(actual, bias.checksum);
  write_bytes(path, bytes);

  LoadOptions mmap;
  mmap.mmap = true;
  std::istringstream in(as_string(bytes));
  const std::string offset = "offset " + std::to_string(bias.offset);
  for (const std::string& part : {std::string("'/hidden.bias'"), std::string("checksum"), offset,
                                  hex(bias.checksum), hex(actual)}) {
    SCOPED_TRACE(part);
    in.clear();
    in.seekg(0);
    WICK_EXPECT_THROW_MSG(load(in), FormatError, part);
    WICK_EXPECT_THROW_MSG(load(path), FormatError, part);
    WICK_EXPECT_THROW_MSG(load(path, mmap), FormatError, part);
    WICK_EXPECT_THROW_MSG(io::Reader(path).tensor("hidden.bias"), FormatError, part);
    WICK_EXPECT_THROW_MSG(io::Reader(path).verify(), FormatError, part);
  }
  // The other tensors still load one by one.
  EXPECT_EQ(io::Reader(path).tensor("output.bias").shape(), (Shape{10}));
}

TEST(Corruption, LargePayloadsAreVerifiedToTheirLastByte) {
  // A 5 MiB payload is read and hashed in many chunks: a flip at its first byte, in the middle
  // and at its last byte is caught, a truncation inside it is refused, and intact files load
  // exactly.
  TempDir dir;
  const auto path = dir / "big.wick";
  const Tensor big = testing::random_values({5, 1 << 18}, kFloat32, 7, -1, 1);
  const Tensor small = randn({300});
  save(Dict{{"small", small}, {"big", big}, {"after", big.slice(0, 1, 3)}}, path);
  const Value v = load(path);
  EXPECT_TRUE(bitwise_equal(v["big"].tensor(), big));
  EXPECT_TRUE(bitwise_equal(v["after"].tensor(), big.slice(0, 1, 3)));
  const std::vector<char> bytes = testing::read_bytes(path);
  io::EntryInfo e;
  for (const auto& entry : io::Reader(path).entries())
    if (entry.path == "/big") e = entry;
  ASSERT_EQ(e.nbytes, 5u << 20);
  const uint64_t payload = e.offset + 64;
  for (const uint64_t at : {payload, payload + e.nbytes / 2 + 3, payload + e.nbytes - 1}) {
    SCOPED_TRACE(at);
    std::vector<char> b = bytes;
    b[at] ^= 0x10;
    write_bytes(path, b);
    WICK_EXPECT_THROW_MSG(
        load(path), FormatError,
        "tensor '/big' at offset " + std::to_string(e.offset) + ": payload checksum mismatch");
    LoadOptions unverified;
    unverified.verify = false;
    EXPECT_NO_THROW(load(path, unverified));
  }
  for (const uint64_t cut : {payload + 1, payload + (1 << 20) + 5, payload + e.nbytes - 1}) {
    SCOPED_TRACE(cut);
    write_bytes(path, std::vector<char>(bytes.begin(), bytes.begin() + cut));
    WICK_EXPECT_THROW_MSG(load(path), FormatError, "truncated");
  }
}

TEST(Corruption, FlipsNameTheStructureTheyHit) {
  const std::vector<char> bytes = mlp_file();
  const std::size_t size = bytes.size();
  const std::size_t index_at = read_u64(bytes, size - 64);
  ASSERT_EQ(index_at % 64, 0u);
  EXPECT_NE(stream_error(bytes, index_at + 64 + 3).find("index"), std::string::npos);
  // Every field of the index record header but its kind (a flipped kind is another kind).
  for (std::size_t at = index_at + 4; at < index_at + 64; ++at) {
    const std::string msg = stream_error(bytes, at, static_cast<int>(at % 8));
    EXPECT_NE(msg.find("index record header"), std::string::npos) << at << ": " << msg;
  }
  for (std::size_t at : {size - 64, size - 50, size - 40, size - 8}) {
    const std::string msg = stream_error(bytes, at);
    EXPECT_NE(msg.find("trailer"), std::string::npos) << at << ": " << msg;
  }
  for (std::size_t at : {0, 9, 13, 30, 60}) {
    const std::string msg = stream_error(bytes, at);
    EXPECT_NE(msg.find("file header"), std::string::npos) << at << ": " << msg;
  }
  // The first tensor record header: flags, sizes, id, dtype, rank, dims, padding, checksum.
  for (std::size_t at = 64 + 4; at < 128; ++at) {
    const std::string msg = stream_error(bytes, at, static_cast<int>(at % 8));
    EXPECT_NE(msg.find("tensor record header"), std::string::npos) << at << ": " << msg;
  }
  EXPECT_NE(stream_error(bytes, 64).find("record header (kind 0)"), std::string::npos);
  EXPECT_NE(stream_error(bytes, 0).find("not a wick file"), std::string::npos);
}

TEST(Corruption, FlipsInTheIndexAndTrailerAreCaughtByTheReaderConstructor) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  const std::vector<char> bytes = mlp_file();
  const std::size_t size = bytes.size();
  const std::size_t index_at = read_u64(bytes, size - 64);
  auto reader_error = [&](std::size_t at) {
    std::vector<char> b = bytes;
    flip(b, at * 8);
    write_bytes(path, b);
    try {
      io::Reader r(path);
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << "Reader accepted a flip at byte " << at;
    return std::string();
  };
  EXPECT_NE(reader_error(index_at + 64 + 100).find("index checksum mismatch"), std::string::npos);
  EXPECT_NE(reader_error(index_at + 3).find("index record header"), std::string::npos);
  EXPECT_NE(reader_error(size - 30).find("trailer"), std::string::npos);
  EXPECT_NE(reader_error(40).find("file header"), std::string::npos);
}

TEST(Corruption, JunkAfterTheTrailerIsRefusedForPaths) {
  TempDir dir;
  const auto path = dir / "mlp.wick";
  const std::vector<char> bytes = mlp_file();
  for (const std::vector<char>& junk :
       {std::vector<char>{'x'}, std::vector<char>(64, '\0'),
        std::vector<char>(bytes.end() - 64, bytes.end())}) {  // a second, valid trailer
    SCOPED_TRACE(junk.size());
    std::vector<char> b = bytes;
    b.insert(b.end(), junk.begin(), junk.end());
    write_bytes(path, b);
    WICK_EXPECT_THROW_MSG(load(path), FormatError, "unexpected bytes after the trailer");
    WICK_EXPECT_THROW_MSG(io::Reader{path}, FormatError, "trailer");
    LoadOptions mmap;
    mmap.mmap = true;
    WICK_EXPECT_THROW_MSG(load(path, mmap), FormatError, "trailer");
  }
  // With a trailer copied after the real one, the Reader sees an intact trailer at the end
  // whose file size is wrong.
  std::vector<char> b = bytes;
  b.insert(b.end(), bytes.end() - 64, bytes.end());
  write_bytes(path, b);
  WICK_EXPECT_THROW_MSG(io::Reader{path}, FormatError, "appended to");
}

TEST(Corruption, AStreamStopsExactlyAtTheTrailer) {
  // Streams may carry more data after a file: load(istream) must not consume it.
  const std::vector<char> bytes = mlp_file();
  std::istringstream in(as_string(bytes) + "next message");
  const Value v = load(in);
  EXPECT_EQ(v.size(), 4u);
  std::string rest;
  std::getline(in, rest);
  EXPECT_EQ(rest, "next message");
}

}  // namespace
}  // namespace wick
