#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::TempDir;

int count_files(const std::filesystem::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir))
    ++n;
  return n;
}

TEST(Writer, AddStreamsEntriesAndFinishMakesADict) {
  TempDir dir;
  const Tensor a = randn({300, 300});
  {
    io::Writer w(dir / "model.wick");
    w.add("layer0.weight", a);
    const uint64_t after_first = w.bytes_written();
    EXPECT_GE(after_first, 300u * 300u * 4u);  // the payload went out already
    w.add("layer0.bias", zeros({300}));
    w.add("tied", a);  // stored once
    w.add("epoch", 4);
    EXPECT_FALSE(std::filesystem::exists(dir / "model.wick"));
    w.finish();
  }
  const Value v = load(dir / "model.wick");
  EXPECT_EQ(v.dict().keys(), (std::vector<Key>{"layer0.weight", "layer0.bias", "tied", "epoch"}));
  EXPECT_TRUE(bitwise_equal(v["layer0.weight"].tensor(), a));
  EXPECT_TRUE(v["tied"].tensor().is_same(v["layer0.weight"].tensor()));
  EXPECT_EQ(io::Reader(dir / "model.wick").info().tensor_count, 2u);
}

TEST(Writer, MisuseIsRefused) {
  std::ostringstream out;
  io::Writer w(out);
  w.add("x", 1);
  WICK_EXPECT_THROW_MSG(w.add("x", 2), ArgumentError, "Writer::add: duplicate key 'x'");
  WICK_EXPECT_THROW_MSG(w.finish(Value(3)), ArgumentError, "entries were already add()ed");
  w.finish();
  WICK_EXPECT_THROW_MSG(w.finish(), ArgumentError, "already finished");
  WICK_EXPECT_THROW_MSG(w.add("y", 1), ArgumentError, "already finished");
  std::istringstream in(out.str());
  EXPECT_EQ(load(in), Value(Dict{{"x", 1}}));
}

TEST(Writer, BadValuesAreRefusedBeforeTheFileAppears) {
  TempDir dir;
  WICK_EXPECT_THROW_MSG(save(Dict{{"w", Tensor()}}, dir / "a.wick"), ArgumentError,
                        "save: the tensor at 'w' is undefined");
  Value deep = 1;
  for (int i = 0; i < 600; ++i)
    deep = List{deep};
  WICK_EXPECT_THROW_MSG(save(deep, dir / "b.wick"), ArgumentError, "nests deeper than 512");
  Dict bad_key;
  bad_key.insert(std::string("a\0b", 3), 1);
  WICK_EXPECT_THROW_MSG(save(bad_key, dir / "c.wick"), ArgumentError, "contains a NUL byte");
  EXPECT_EQ(count_files(dir.path()), 0);
}

TEST(Writer, ATensorDictSavesTheSameBytesAsItsValue) {
  // save(TensorDict) skips building a Value; the file must not tell the difference.
  const Tensor w = randn({3, 4});
  TensorDict sd{{"hidden.weight", w},      {"hidden.bias", zeros({3})}, {"tied", w},  // stored once
                {"view", w.t()},            // another view of w's record (format 2.1)
                {"scalar", full({}, 2.5)},  // 0-d
                {"empty", zeros({0, 7})}};
  std::ostringstream direct;
  save(sd, direct);
  std::ostringstream via_value;
  save(Value(sd), via_value);
  EXPECT_EQ(direct.str(), via_value.str());
  TempDir dir;
  save(sd, dir / "sd.wick");
  const std::string bytes = direct.str();
  EXPECT_EQ(testing::read_bytes(dir / "sd.wick"), std::vector<char>(bytes.begin(), bytes.end()));
  EXPECT_EQ(io::Reader(dir / "sd.wick").info().tensor_count, 4u);
  EXPECT_EQ(io::Reader(dir / "sd.wick").info().view_count, 1u);
  // Two members that could each be the record of their storage: the first met is, either way.
  const TensorDict two{{"a", w}, {"b", w.view({12})}};
  std::ostringstream two_direct, two_via_value;
  save(two, two_direct);
  save(Value(two), two_via_value);
  EXPECT_EQ(two_direct.str(), two_via_value.str());
  EXPECT_EQ(load(dir / "sd.wick")["hidden.weight"].tensor().shape(), (Shape{3, 4}));

  // Progress reaches the total of unique payload bytes.
  uint64_t last_done = 0;
  uint64_t last_total = 0;
  SaveOptions o;
  o.progress = [&](uint64_t done, uint64_t total) {
    last_done = done;
    last_total = total;
  };
  save(sd, dir / "p.wick", o);
  EXPECT_EQ(last_total, (12 + 3 + 1) * 4u);
  EXPECT_EQ(last_done, last_total);

  // The same refusals as for a Value, and nothing left behind.
  TempDir bad;
  WICK_EXPECT_THROW_MSG(save(TensorDict{{"w", Tensor()}}, bad / "a.wick"), ArgumentError,
                        "save: the tensor at 'w' is undefined");
  TensorDict bad_key;
  bad_key.insert(std::string("a\0b", 3), w);
  WICK_EXPECT_THROW_MSG(save(bad_key, bad / "b.wick"), ArgumentError, "contains a NUL byte");
  EXPECT_EQ(count_files(bad.path()), 0);
}

TEST(Writer, AddingATensorChecksLikeAddingAValue) {
  std::ostringstream out;
  io::Writer w(out);
  w.add("x", ones({2}));
  WICK_EXPECT_THROW_MSG(w.add("x", ones({2})), ArgumentError, "Writer::add: duplicate key 'x'");
  WICK_EXPECT_THROW_MSG(w.add("y", Tensor()), ArgumentError, "the tensor at 'y' is undefined");
  WICK_EXPECT_THROW_MSG(w.finish(TensorDict{}), ArgumentError, "entries were already add()ed");
}

TEST(Writer, AbandonedWriterLeavesThePreviousFileAndNoTempFile) {
  TempDir dir;
  save(Dict{{"old", arange(3)}}, dir / "ckpt.wick");
  {
    io::Writer w(dir / "ckpt.wick");
    w.add("new", randn({100, 100}));
    // destroyed without finish()
  }
  EXPECT_EQ(load(dir / "ckpt.wick"), Value(Dict{{"old", arange(3)}}));
  EXPECT_EQ(count_files(dir.path()), 1);
}

// A stream that accepts `limit` bytes and then fails, like a full disk or a closed socket.
class FailingBuf : public std::streambuf {
 public:
  explicit FailingBuf(std::size_t limit) : limit_(limit) {}
  std::streamsize xsputn(const char*, std::streamsize n) override {
    if (written_ + static_cast<std::size_t>(n) > limit_) return 0;
    written_ += static_cast<std::size_t>(n);
    return n;
  }
  int overflow(int c) override { return xsputn(nullptr, 1) == 1 ? c : EOF; }

 private:
  std::size_t limit_;
  std::size_t written_ = 0;
};

TEST(Writer, FailingStreamGivesAnIoErrorNamingTheOffset) {
  FailingBuf buf(100000);
  std::ostream out(&buf);
  WICK_EXPECT_THROW_MSG(save(Dict{{"w", randn({512, 512})}}, out), IoError,
                        "bytes to the output stream failed at offset");
  try {
    FailingBuf again(100000);
    std::ostream out2(&again);
    save(Dict{{"w", randn({512, 512})}}, out2);
  } catch (const IoError& e) {
    EXPECT_TRUE(e.info().file.empty());  // a stream has no path
    EXPECT_EQ(e.info().structure, "write");
    ASSERT_TRUE(e.info().offset.has_value());
    EXPECT_LE(*e.info().offset, 100000U);
  }
}

// RLIMIT_FSIZE makes write() fail with EFBIG past `limit` bytes of a file: a disk that fills up
// at that point of a save. SIGXFSZ is ignored meanwhile so the failure is an error, not a kill.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    EXPECT_EQ(::sigaction(SIGXFSZ, &ignore, &previous_), 0);
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &saved_), 0);
    rlimit small = saved_;
    small.rlim_cur = limit;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::sigaction(SIGXFSZ, &previous_, nullptr);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct sigaction previous_ {};
  rlimit saved_{};
};

TEST(Writer, DiskFullLeavesThePreviousFileIntact) {
  TempDir dir;
  const auto path = dir / "ckpt.wick";
  const Value old = Dict{{"w", arange(10)}};
  save(old, path);
  // Cut in the header, the first record, mid-payload and in the index of a 4 MiB save.
  const Value big = Dict{{"w", randn({1024, 1024})}, {"b", randn({1024})}};
  const std::vector<rlim_t> limits = {0, 100, 4096, 1 << 16, 1 << 20, (4 << 20) + 100};
  int refused = 0;
  int intact = 0;
  for (const rlim_t limit : limits) {
    SCOPED_TRACE(limit);
    {
      const FileSizeLimit full(limit);
      try {
        save(big, path);
        ADD_FAILURE() << "the save succeeded";
      } catch (const IoError& e) {
        ++refused;
        // The fields: the file being saved, the write that failed, where, and the system's word.
        EXPECT_EQ(e.info().file, path.string());
        EXPECT_EQ(e.info().structure, "write");
        ASSERT_TRUE(e.info().offset.has_value());
        EXPECT_LE(*e.info().offset, limit);
        EXPECT_EQ(e.info().found, std::strerror(EFBIG));
        // The temp file: unnamed while written (O_TMPFILE), or by its name elsewhere.
        const std::string what = e.what();
        EXPECT_TRUE((what.find("unnamed temporary file for") != std::string::npos &&
                     what.find(path.string()) != std::string::npos) ||
                    what.find(".ckpt.wick.wick-tmp-") != std::string::npos)
            << what;
      }
    }
    if (load(path) == old && count_files(dir.path()) == 1) ++intact;
  }
  EXPECT_EQ(refused, static_cast<int>(limits.size()));
  EXPECT_EQ(intact, static_cast<int>(limits.size()));
  std::printf(
      "disk full: %zu saves cut short, %d refused with IoError, %d left the old file "
      "intact and no temp file\n",
      limits.size(), refused, intact);
}

// Large payloads are hashed on a second thread while they are written. When the write fails,
// the caller's tensor may be freed as the exception leaves its scope, with the Writer still
// alive: the hashing must be over by then (a worker still reading would fault on the unmapped
// buffer, or ASan would report it).
TEST(Writer, AFailedAddIsDoneWithTheTensorWhenItThrows) {
  TempDir dir;
  for (const rlim_t limit : {rlim_t{1} << 16, rlim_t{3} << 20}) {
    SCOPED_TRACE(limit);
    io::Writer w(dir / "ckpt.wick");
    {
      const FileSizeLimit full(limit);
      try {
        const Tensor big = randn({2048, 1024});  // 8 MiB: its own mapping, unmapped when freed
        w.add("w", big);
        ADD_FAILURE() << "the add succeeded";
      } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("failed at offset"), std::string::npos) << e.what();
      }
    }
    WICK_EXPECT_THROW_MSG(w.add("v", ones({2})), IoError, "an earlier error left the output");
  }
  EXPECT_EQ(count_files(dir.path()), 0);
}

TEST(Writer, LargePayloadsHashedAsideMatchTheirChecksums) {
  TempDir dir;
  // Contiguous and big enough to be hashed aside; a view that is not; one just under the limit.
  const Tensor big = randn({1024, 1025});
  const Tensor strided = randn({1024, 1024}).transpose(0, 1);
  const Tensor below = randn({256 * 1024 - 1});
  save(Dict{{"big", big}, {"strided", strided}, {"below", below}}, dir / "a.wick");
  const Value back = load(dir / "a.wick");
  EXPECT_EQ(back, Value(Dict{{"big", big}, {"strided", strided}, {"below", below}}));
  EXPECT_NO_THROW(io::Reader(dir / "a.wick").verify());
}

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// Past every 16 MiB a second thread starts writeback of the file, and payloads are hashed on
// another: the bytes must be those of a save on one thread, and a save cut short past a window
// must still leave the previous file and no temp file. Writeback changes no byte, so this guards
// its paths (and, under the sanitizers, its threads); bench_io measures what it is for.
TEST(Writer, SavesWithBackgroundThreadsWriteTheSameBytes) {
  TempDir dir;
  TensorDict sd;
  for (int i = 0; i < 5; ++i)
    sd.insert("w" + std::to_string(i), randn({1024, 2048}));  // 8 MiB each
  sd.insert("b", randn({1000}));
  {
    const ThreadCount one(1);
    save(sd, dir / "one.wick");
  }
  {
    const ThreadCount two(2);
    save(sd, dir / "two.wick");  // durable
    SaveOptions fast;
    fast.durable = false;
    save(sd, dir / "fast.wick", fast);
  }
  const std::string one = file_bytes(dir / "one.wick");
  EXPECT_GT(one.size(), std::size_t{40} << 20);
  EXPECT_EQ(file_bytes(dir / "two.wick"), one);
  EXPECT_EQ(file_bytes(dir / "fast.wick"), one);
  EXPECT_EQ(load(dir / "two.wick"), Value(sd));

  const ThreadCount two(2);
  const Value old = Dict{{"w", arange(10)}};
  save(old, dir / "ckpt.wick");
  for (const rlim_t limit : {rlim_t{17} << 20, rlim_t{33} << 20}) {
    SCOPED_TRACE(limit);
    {
      const FileSizeLimit full(limit);
      WICK_EXPECT_THROW_MSG(save(sd, dir / "ckpt.wick"), IoError, "failed at offset");
    }
    EXPECT_EQ(load(dir / "ckpt.wick"), old);
  }
  EXPECT_EQ(count_files(dir.path()), 4);
}

TEST(Writer, UnwritableDirectoryGivesAClearIoError) {
  if (::geteuid() == 0) {
    // Root ignores directory permissions; a path under a regular file fails for everyone.
    TempDir dir;
    save(1, dir / "file");
    WICK_EXPECT_THROW_MSG(save(1, dir / "file" / "x.wick"), IoError,
                          "cannot create a temporary file in");
    return;
  }
  TempDir dir;
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  WICK_EXPECT_THROW_MSG(save(1, dir / "x.wick"), IoError, "Permission denied");
}

TEST(Writer, MissingFilesAndDirectoriesGiveIoErrors) {
  TempDir dir;
  WICK_EXPECT_THROW_MSG(load(dir / "absent.wick"), IoError, "No such file or directory");
  WICK_EXPECT_THROW_MSG(load(dir.path()), IoError, "is not a regular file");
  WICK_EXPECT_THROW_MSG(io::Reader(dir / "absent.wick"), IoError, "cannot open");
  std::istringstream in("x");
  LoadOptions lo;
  lo.mmap = true;
  WICK_EXPECT_THROW_MSG(load(in, lo), ArgumentError, "mmap needs a file path");
}

}  // namespace
}  // namespace wick
