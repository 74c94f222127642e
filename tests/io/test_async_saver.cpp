// AsyncSaver (wick/io/async_saver.h): a background save writes exactly the bytes wick::save
// writes for the value as it was when save() returned, whatever the caller does to the tensors
// afterwards; each error reaches the caller exactly once; and the saver keeps its limits (saves
// in flight, staging memory) and the order of saves to one path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "generation_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using io::AsyncSaveOptions;
using io::AsyncSaver;
using io::SaveHandle;
using io::SaveStats;
using io::SnapshotMode;
using testing::read_bytes;
using testing::ScratchDir;

using Clock = std::chrono::steady_clock;

// How long a test waits for something that happens at once in a healthy saver, before it
// reports a hang instead of hanging.
constexpr auto kHangGuard = std::chrono::seconds(30);

const char* mode_name(SnapshotMode m) {
  switch (m) {
    case SnapshotMode::kAuto:
      return "auto";
    case SnapshotMode::kCopy:
      return "copy";
    case SnapshotMode::kFork:
      return "fork";
  }
  return "?";
}

// Calls `fn` on every tensor of `v`, depth first.
void for_each_tensor(const Value& v, const std::function<void(const Tensor&)>& fn) {
  switch (v.kind()) {
    case Value::Kind::Tensor:
      fn(v.tensor());
      break;
    case Value::Kind::List:
      for (const Value& item : v.list())
        for_each_tensor(item, fn);
      break;
    case Value::Kind::Tuple:
      for (const Value& item : v.tuple())
        for_each_tensor(item, fn);
      break;
    case Value::Kind::Dict:
      for (const auto& item : v.dict())
        for_each_tensor(item.second, fn);
      break;
    default:
      break;
  }
}

// Overwrites every byte of every storage the tensors of `v` view (views included, and the bytes
// between a view's elements), as a training step does right after a checkpoint is asked for.
void scribble(const Value& v, unsigned char byte) {
  for_each_tensor(v, [&](const Tensor& t) {
    const auto& s = t.storage();
    if (s != nullptr && s->nbytes() > 0) std::memset(s->data(), byte, s->nbytes());
  });
}

// The file wick::save writes for `value` with `options`.
std::vector<char> sync_bytes(const Value& value, const std::filesystem::path& path,
                             const SaveOptions& options = {}) {
  save(value, path, options);
  return read_bytes(path);
}

// Equal files, or where they first differ.
::testing::AssertionResult same_bytes(const std::vector<char>& got, const std::vector<char>& want) {
  if (got == want) return ::testing::AssertionSuccess();
  const auto diff = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
  return ::testing::AssertionFailure()
         << "the file has " << got.size() << " bytes, wick::save writes " << want.size()
         << "; first difference at offset " << (diff.first - got.begin());
}

::testing::AssertionResult same_file(const std::filesystem::path& got,
                                     const std::vector<char>& want) {
  if (!std::filesystem::exists(got)) {
    return ::testing::AssertionFailure() << got << " does not exist";
  }
  return same_bytes(read_bytes(got), want);
}

// Every dtype, views of one storage (a slice with a step, a transpose, a row, a column range, an
// expanded row), 0-d and empty tensors, nested list/tuple/dict with every scalar kind and int
// keys, and one 16 MiB tensor so that the write lasts long after save() returns.
Value rich_value() {
  const Tensor numbers = arange(0, 1 << 16, 1, kInt64);
  const Tensor m = randn({512, 512});
  const Tensor runs = arange(0, 1000, 1, kFloat64);
  Dict all;
  for (int code = 0; code < kNumDTypes; ++code) {
    const DType d = *dtype_from_code(static_cast<uint8_t>(code));
    all.insert(std::string(dtype_name(d)), (randn({3, 333}, kFloat64) * 100).to(d));
  }
  Dict optimizer_state;  // int keys, as torch's optimizer state_dict
  optimizer_state.insert(0, Dict{{"step", 10}, {"exp_avg", randn({256})}});
  optimizer_state.insert(1, Dict{{"step", 10}, {"exp_avg", randn({2, 8}, kFloat64)}});
  return Dict{
      {"big", randn({2048, 2048})},
      {"numbers", numbers},
      {"evens", numbers.slice(0, 0, 1 << 16, 2)},
      {"m", m},
      {"m_t", m.t()},
      {"m_again", m},  // one view under two paths
      {"row", m[3]},
      {"cols", m.slice(1, 8, 500, 3)},
      {"expanded", m[0].unsqueeze(0).expand({2, 512})},
      // Slices of a buffer whose record is only the run they reach, and empty views of it
      // inside and far outside that run.
      {"a", runs.slice(0, 10, 20)},
      {"b", runs.slice(0, 30, 40, 5)},
      {"empty_in", runs.slice(0, 15, 15)},
      {"empty_far", runs.slice(0, 900, 900)},
      {"empty_of_numbers", numbers.slice(0, 7, 7)},
      {"dtypes", all},
      {"zero_d", scalar_tensor(42, kInt32)},
      {"empty", zeros({0, 3}, kFloat16)},
      {"empty_i64", empty({0}, kInt64)},
      {"nested", List{1, -2.5, "text", true, false, nullptr,
                      Tuple{randn({3}), "in a tuple", 7, numbers.slice(0, 1, 100, 3)},
                      Dict{{"k", List{m.slice(0, 0, 2)}}, {"none", nullptr}}, List{}}},
      {"optimizer", Dict{{"state", optimizer_state}, {"lr", 1e-3}}},
      {"step", 1234},
      {"name", "run-7"},
  };
}

// A state_dict whose tensors are all contiguous and own their storage, with their bytes.
TensorDict plain_state(int64_t rows = 1024) {
  TensorDict sd;
  sd.insert("hidden.weight", randn({rows, 1024}));
  sd.insert("hidden.bias", randn({1024}));
  sd.insert("output.weight", randn({10, 1024}, kFloat64));
  sd.insert("steps", arange(0, 100, 1, kInt64));
  return sd;
}

uint64_t state_bytes(const TensorDict& sd) {
  uint64_t n = 0;
  for (const auto& item : sd)
    n += item.second.nbytes();
  return n;
}

// Holds the saves whose SaveOptions::progress it gives until open(), so that a test can look at
// a saver with saves in flight without racing them. Its state lives as long as any callback,
// and the destructor opens it, so a failing test cannot leave a save (or ~AsyncSaver) blocked:
// declare it after the saver.
class Gate {
 public:
  ProgressFn progress() {
    return [s = state_](uint64_t, uint64_t) {
      std::unique_lock lock(s->mu);
      ++s->calls;
      s->cv.notify_all();
      s->cv.wait(lock, [&] { return s->open; });
    };
  }
  // True once a held save has called its progress callback (it is then writing).
  bool wait_for_a_call() {
    std::unique_lock lock(state_->mu);
    return state_->cv.wait_for(lock, kHangGuard, [&] { return state_->calls > 0; });
  }
  void open() {
    std::lock_guard lock(state_->mu);
    state_->open = true;
    state_->cv.notify_all();
  }
  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  ~Gate() { open(); }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    bool open = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

SaveOptions with_progress(ProgressFn fn) {
  SaveOptions o;
  o.progress = std::move(fn);
  return o;
}

// Paths no save can write: the directory is missing (ENOENT), or the parent is a regular file
// (ENOTDIR). The tests run as root in CI, where a chmod'ed directory stays writable, so the
// regular file stands in for a directory the saver may not write.
std::vector<std::filesystem::path> unwritable_paths(const ScratchDir& dir) {
  std::ofstream(dir / "file") << "not a directory";
  return {dir / "missing" / "ckpt.wick", dir / "file" / "ckpt.wick"};
}

// What an error thrown by `fn` was: its dynamic type, what() and fields.
struct Caught {
  bool thrown = false;
  std::string type;
  std::string what;
  ErrorInfo info;
};

Caught catch_error(const std::function<void()>& fn) {
  Caught c;
  try {
    fn();
  } catch (const Error& e) {
    c.thrown = true;
    c.type = typeid(e).name();
    c.what = e.what();
    c.info = e.info();
  }
  return c;
}

// Polls until `h` is done (which does not consume its error), or kHangGuard passes.
bool wait_done(const SaveHandle& h) {
  const auto give_up = Clock::now() + kHangGuard;
  while (!h.done()) {
    if (Clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Both snapshot modes.

class AsyncSaverModes : public ::testing::TestWithParam<SnapshotMode> {
 protected:
  SnapshotMode mode() const { return GetParam(); }
  AsyncSaveOptions options(int max_in_flight = 1) const {
    AsyncSaveOptions o;
    o.max_in_flight = max_in_flight;
    o.mode = GetParam();
    return o;
  }
  ScratchDir dir_;
};

TEST_P(AsyncSaverModes, TheFileHoldsTheValueAtTheCallBitForBit) {
  Value value = rich_value();
  const std::vector<char> want = sync_bytes(value, dir_ / "sync.wick");
  const auto path = dir_ / "ckpt.wick";
  AsyncSaver saver(options());
  SaveHandle h = saver.save(value, path);
  ASSERT_TRUE(h.valid());
  EXPECT_EQ(h.path(), path);
  // Training goes on at once: every tensor byte changes, and so does the tree around them.
  scribble(value, 0x5a);
  value["name"] = Value("changed");
  value["step"] = Value(99);
  value["nested"].list().push_back(Value("late"));
  value["m"] = Value(zeros({2, 2}));
  value.dict().insert("late", 1);
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.superseded());
  EXPECT_TRUE(same_file(path, want));
  EXPECT_EQ(h.stats().mode, mode());
}

TEST_P(AsyncSaverModes, ATensorDictIsWrittenAsWickSaveWritesIt) {
  TensorDict sd = plain_state();
  const Tensor w = sd.at("hidden.weight");
  sd.insert("hidden.weight_t", w.t());       // a view of the same storage
  sd.insert("rows", w.slice(0, 10, 20, 2));  // another
  sd.insert("empty", empty({0, 4}));
  const std::vector<char> want = [&] {
    save(sd, dir_ / "sync.wick");
    return read_bytes(dir_ / "sync.wick");
  }();
  const auto path = dir_ / "ckpt.wick";
  AsyncSaver saver(options());
  SaveHandle h = saver.save(sd, path);
  // Through the typed pointers, as an optimizer writes its parameters.
  for (auto& item : sd) {
    Tensor& t = item.second;
    if (!t.is_contiguous()) continue;  // a view: its storage is written through another entry
    if (t.dtype() == kFloat32) {
      std::fill_n(t.data<float>(), t.numel(), -1.0f);
    } else {
      std::memset(t.raw_data(), 0xff, t.nbytes());
    }
  }
  h.wait();
  EXPECT_TRUE(same_file(path, want));
}

TEST_P(AsyncSaverModes, TheValueMayBeFreedAndItsMemoryReusedAtOnce) {
  const auto path = dir_ / "ckpt.wick";
  std::vector<char> want;
  AsyncSaver saver(options());
  SaveHandle h;
  {
    const Value value = rich_value();
    want = sync_bytes(value, dir_ / "sync.wick");
    h = saver.save(value, path);
  }
  // The freed buffers (heap and huge-page mappings alike) go to new tensors, which get
  // written: a saver that kept pointers into them would now write these bytes.
  std::vector<Tensor> reuse;
  for (int i = 0; i < 8; ++i)
    reuse.push_back(full({2048, 2048}, 7.0f));
  h.wait();
  EXPECT_TRUE(same_file(path, want));
}

TEST_P(AsyncSaverModes, SaveOptionsAreHonoured) {
  // A view (stored as a copy before 2.1) and a dict with a string key only: every version holds
  // it, so each must come out as wick::save writes it with the same options.
  const Tensor numbers = arange(0, 4096, 1, kInt64);
  const Value value =
      Dict{{"numbers", numbers}, {"odds", numbers.slice(0, 1, 4096, 2)}, {"x", 1.5}};
  struct Case {
    int major, minor;
    bool durable;
  };
  AsyncSaver saver(options());
  int round = 0;  // each round writes other bytes, so each save's file differs from the last
  for (const Case c : {Case{0, 0, false}, Case{1, 0, false}, Case{2, 0, true}, Case{2, 1, false}}) {
    SCOPED_TRACE(::testing::Message() << "format " << c.major << "." << c.minor
                                      << (c.durable ? " durable" : " not durable"));
    SaveOptions o;
    o.durable = c.durable;
    o.format_major = c.major;
    o.format_minor = c.minor;
    o.metadata = Dict{{"epoch", 3}, {"note", "async"}, {"loss", 0.25}, {"best", true}};
    const std::vector<char> want = sync_bytes(value, dir_ / "sync.wick", o);
    const auto path = dir_ / "ckpt.wick";
    SaveHandle h = saver.save(value, path, o);
    scribble(value, static_cast<unsigned char>(++round));
    h.wait();
    EXPECT_TRUE(same_file(path, want));
    const io::Reader reader(path);
    EXPECT_EQ(reader.metadata(), o.metadata);
    if (c.major != 0) {
      EXPECT_EQ(reader.info().major, c.major);
      EXPECT_EQ(reader.info().minor, c.minor);
    }
  }
}

TEST_P(AsyncSaverModes, ValuesWickSaveRefusesAreRefusedBySave) {
  // save() throws them itself, as the header says: a value the format cannot hold is the
  // caller's mistake, to be seen at the call and not as a failed checkpoint some time later.
  // Each with a fresh saver, so that one case's late error cannot pass for the next one's.
  const auto path = dir_ / "ckpt.wick";
  SaveOptions old_format;
  old_format.format_major = 1;
  SaveOptions tensor_metadata;
  tensor_metadata.metadata = Dict{{"w", zeros({2})}};
  const std::vector<std::pair<Value, SaveOptions>> refused = {
      {Dict{{"undefined", Tensor()}}, {}},
      {Dict{{"t", Tuple{1, 2}}}, old_format},  // 1.0 has no tuples
      {Dict{{"x", 1}}, tensor_metadata},
  };
  for (const auto& [value, o] : refused) {
    SCOPED_TRACE(::testing::Message() << value);
    EXPECT_THROW(save(value, dir_ / "sync.wick", o), ArgumentError) << "wick::save";
    AsyncSaver saver(options());
    EXPECT_THROW(saver.save(value, path, o), ArgumentError);
    // Already thrown: nothing is left for wait(), and the saver still saves.
    EXPECT_NO_THROW(saver.wait());
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_EQ(saver.in_flight(), 0);
    const Value fine = Dict{{"x", 1}};
    const std::vector<char> want = sync_bytes(fine, dir_ / "sync.wick");
    EXPECT_NO_THROW(saver.save(fine, path).wait());
    EXPECT_TRUE(same_file(path, want));
    std::filesystem::remove(path);
  }
}

TEST_P(AsyncSaverModes, AValueWithoutTensors) {
  const Value value = Dict{{"step", 7}, {"name", "x"}, {"list", List{1, 2.5, nullptr}}};
  const std::vector<char> want = sync_bytes(value, dir_ / "sync.wick");
  AsyncSaver saver(options());
  SaveHandle h = saver.save(value, dir_ / "ckpt.wick");
  h.wait();
  EXPECT_TRUE(same_file(dir_ / "ckpt.wick", want));
  EXPECT_EQ(h.progress(), (std::pair<uint64_t, uint64_t>(0, 0)));
  EXPECT_EQ(h.stats().snapshot_bytes, 0u);
}

TEST_P(AsyncSaverModes, ProgressReachesTheTotalInThisProcess) {
  const Value value = rich_value();
  // The total wick::save reports for the same value: its tensor payload bytes.
  uint64_t want_total = 0;
  sync_bytes(value, dir_ / "sync.wick",
             with_progress([&](uint64_t, uint64_t total) { want_total = total; }));
  ASSERT_GT(want_total, 0u);

  struct Calls {
    std::mutex mu;
    std::vector<std::pair<uint64_t, uint64_t>> seen;
    bool other_process = false;
  };
  auto calls = std::make_shared<Calls>();
  const pid_t self = ::getpid();
  AsyncSaver saver(options());
  SaveHandle h = saver.save(value, dir_ / "ckpt.wick",
                            with_progress([calls, self](uint64_t done, uint64_t total) {
                              std::lock_guard lock(calls->mu);
                              calls->seen.emplace_back(done, total);
                              // A callback run in a forked writer changes nothing here.
                              if (::getpid() != self) calls->other_process = true;
                            }));
  h.wait();
  EXPECT_EQ(h.progress(), (std::pair<uint64_t, uint64_t>(want_total, want_total)));
  std::lock_guard lock(calls->mu);
  EXPECT_FALSE(calls->other_process);
  ASSERT_FALSE(calls->seen.empty()) << "the progress callback was never called";
  EXPECT_EQ(calls->seen.back(), (std::pair<uint64_t, uint64_t>(want_total, want_total)));
  for (std::size_t i = 1; i < calls->seen.size(); ++i) {
    EXPECT_LE(calls->seen[i - 1].first, calls->seen[i].first) << "call " << i;
    EXPECT_EQ(calls->seen[i].second, want_total) << "call " << i;
  }
}

TEST_P(AsyncSaverModes, StatsArePlausible) {
  const TensorDict sd = plain_state();
  AsyncSaver saver(options());
  SaveHandle h = saver.save(sd, dir_ / "ckpt.wick");
  h.wait();
  const SaveStats s = h.stats();
  EXPECT_EQ(s.mode, mode());
  EXPECT_EQ(s.snapshot_bytes, state_bytes(sd));
  EXPECT_GE(s.snapshot_seconds, 0.0);
  // The stall is the wait for a slot plus the snapshot.
  EXPECT_GE(s.stall_seconds, s.snapshot_seconds);
  if (mode() == SnapshotMode::kCopy) {
    // The staging buffers hold every tensor byte.
    EXPECT_GE(s.extra_bytes, s.snapshot_bytes);
    EXPECT_GE(saver.staging_bytes(), s.snapshot_bytes);
  } else {
    EXPECT_GT(s.extra_bytes, 0u) << "the writer child's private memory";
    EXPECT_EQ(saver.staging_bytes(), 0u) << "a fork needs no staging";
  }
}

TEST_P(AsyncSaverModes, AnErrorIsThrownByWaitOnce) {
  for (const auto& path : unwritable_paths(dir_)) {
    SCOPED_TRACE(path.string());
    AsyncSaver saver(options());
    SaveHandle h;
    // The open happens in the background: save() itself has nothing to throw.
    ASSERT_NO_THROW(h = saver.save(Dict{{"w", randn({64})}}, path));
    EXPECT_THROW(h.wait(), IoError);
    EXPECT_TRUE(h.done());
    EXPECT_NO_THROW(h.wait()) << "thrown twice";
    EXPECT_NO_THROW(saver.wait()) << "thrown twice";
    EXPECT_TRUE(saver.done());
    EXPECT_FALSE(std::filesystem::exists(path));
    // The saver goes on.
    const Value v = Dict{{"w", randn({64})}};
    const std::vector<char> want = sync_bytes(v, dir_ / "sync.wick");
    EXPECT_NO_THROW(saver.save(v, dir_ / "ok.wick").wait());
    EXPECT_TRUE(same_file(dir_ / "ok.wick", want));
  }
}

TEST_P(AsyncSaverModes, AnErrorNobodyWaitedForIsThrownByTheNextSave) {
  for (const auto& path : unwritable_paths(dir_)) {
    SCOPED_TRACE(path.string());
    AsyncSaver saver(options(2));
    SaveHandle failed = saver.save(Dict{{"w", randn({64})}}, path);
    ASSERT_TRUE(wait_done(failed)) << "the failing save never finished";
    const auto next = dir_ / "next.wick";
    std::filesystem::remove(next);
    EXPECT_THROW(saver.save(Dict{{"w", randn({64})}}, next), IoError);
    // That save was not started.
    EXPECT_TRUE(saver.done());
    EXPECT_EQ(saver.in_flight(), 0);
    EXPECT_FALSE(std::filesystem::exists(next));
    EXPECT_NO_THROW(failed.wait()) << "thrown twice";
    EXPECT_NO_THROW(saver.wait()) << "thrown twice";
    const Value v = Dict{{"w", randn({64})}};
    const std::vector<char> want = sync_bytes(v, dir_ / "sync.wick");
    EXPECT_NO_THROW(saver.save(v, next).wait());
    EXPECT_TRUE(same_file(next, want));
  }
}

TEST_P(AsyncSaverModes, AnErrorNobodyWaitedForIsThrownBySaverWait) {
  for (const auto& path : unwritable_paths(dir_)) {
    SCOPED_TRACE(path.string());
    AsyncSaver saver(options());
    SaveHandle failed = saver.save(Dict{{"w", randn({64})}}, path);
    EXPECT_THROW(saver.wait(), IoError);
    EXPECT_TRUE(failed.done());
    EXPECT_NO_THROW(failed.wait()) << "thrown twice";
    EXPECT_NO_THROW(saver.wait()) << "thrown twice";
  }
}

TEST_P(AsyncSaverModes, AnErrorAskedForTheMomentItsSaveEndsIsNotLost) {
  // The saver is asked (wait(), or the next save()) in the instant a failed save ends: spinning
  // on in_flight() lands there. Its error must be thrown then, and the handle done.
  const auto bad = unwritable_paths(dir_).back();
  AsyncSaver saver(options());
  const Value v = Dict{{"w", randn({16})}};
  constexpr int kRounds = testing::kSanitized ? 100 : 400;
  int not_thrown = 0, not_done = 0;
  for (int round = 0; round < kRounds; ++round) {
    SaveHandle h = saver.save(v, bad);
    while (saver.in_flight() != 0) {
    }
    bool thrown = false;
    try {
      if (round % 2 == 0) {
        saver.wait();
      } else {
        // Not started when it throws; when it does not, it saves to a good path.
        saver.save(v, dir_ / "good.wick").wait();
      }
    } catch (const IoError&) {
      thrown = true;
    }
    not_done += h.done() ? 0 : 1;
    if (!thrown) {
      ++not_thrown;
      // Drain it, if only the handle still has it, so that the next round starts clean.
      try {
        h.wait();
      } catch (const IoError&) {
      }
      saver.wait();
    }
  }
  EXPECT_EQ(not_thrown, 0) << "of " << kRounds
                           << " failed saves, the saver forgot this many errors: neither its "
                              "wait() nor its next save() threw them";
  EXPECT_EQ(not_done, 0) << "of " << kRounds
                         << " failed saves, this many were not done after the saver's wait() or "
                            "next save() returned";
}

TEST_P(AsyncSaverModes, AnErrorAmongGoodSavesIsThrownOnce) {
  // Saves to good paths around a failing one: only the failing one's wait() throws, and the
  // saver's wait() after it has nothing left.
  const auto bad = unwritable_paths(dir_).back();
  AsyncSaver saver(options(2));
  const Value v = Dict{{"w", randn({256})}};
  SaveHandle a = saver.save(v, dir_ / "a.wick");
  SaveHandle b = saver.save(v, bad);
  ASSERT_TRUE(wait_done(b));
  // b's error comes first for whoever asks; c is therefore not started.
  EXPECT_THROW(saver.save(v, dir_ / "c.wick"), IoError);
  EXPECT_NO_THROW(a.wait());
  EXPECT_NO_THROW(b.wait());
  EXPECT_NO_THROW(saver.wait());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "a.wick"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "c.wick"));
}

TEST_P(AsyncSaverModes, TheDestructorWritesAnErrorNeverThrownToStderr) {
  const auto bad = unwritable_paths(dir_).back();
  ::testing::internal::CaptureStderr();
  {
    AsyncSaver saver(options());
    saver.save(Dict{{"w", randn({64})}}, bad);
  }
  const std::string unthrown = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(unthrown.find(bad.string()), std::string::npos) << "stderr: " << unthrown;
  // Thrown already: nothing more to say, from this process or a writer child.
  ::testing::internal::CaptureStderr();
  {
    AsyncSaver saver(options());
    SaveHandle h = saver.save(Dict{{"w", randn({64})}}, bad);
    EXPECT_THROW(h.wait(), IoError);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_P(AsyncSaverModes, TwoSavesToOnePathKeepTheNewest) {
  for (const int max_in_flight : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << "max_in_flight " << max_in_flight);
    const auto path = dir_ / "ckpt.wick";
    const testing::Generations gen{4, {512, 512}};
    std::vector<SaveHandle> handles;
    std::vector<char> newest;
    {
      AsyncSaver saver(options(max_in_flight));
      for (int64_t g = 1; g <= 6; ++g) {
        const Value v = gen.value(g);
        if (g == 6) newest = sync_bytes(v, dir_ / "sync.wick", gen.options(g, false));
        handles.push_back(saver.save(v, path, gen.options(g, false)));
      }
      EXPECT_NO_THROW(saver.wait());
    }
    EXPECT_FALSE(handles.back().superseded());
    int superseded = 0;
    for (SaveHandle& h : handles) {
      EXPECT_NO_THROW(h.wait()) << "a superseded save is no error";
      superseded += h.superseded() ? 1 : 0;
    }
    std::printf("%s, max_in_flight %d: %d of %zu saves superseded\n", mode_name(mode()),
                max_in_flight, superseded, handles.size());
    EXPECT_TRUE(same_file(path, newest));
    EXPECT_EQ(testing::count_temp_files(path), 0);
  }
}

TEST_P(AsyncSaverModes, TrySaveReturnsNothingWhileFullAndSaveWaits) {
  const TensorDict sd = plain_state(256);
  AsyncSaver saver(options(1));
  EXPECT_TRUE(saver.done());
  EXPECT_EQ(saver.in_flight(), 0);
  Gate gate;
  SaveHandle held = saver.save(sd, dir_ / "held.wick", with_progress(gate.progress()));
  ASSERT_TRUE(gate.wait_for_a_call()) << "the held save never reported progress";
  EXPECT_EQ(saver.in_flight(), 1);
  EXPECT_FALSE(saver.done());
  EXPECT_FALSE(held.done());

  EXPECT_FALSE(saver.try_save(sd, dir_ / "skipped.wick").has_value());
  EXPECT_EQ(saver.in_flight(), 1);

  // save() waits for the slot: it cannot return while the held save runs.
  std::atomic<bool> returned{false};
  SaveHandle waited;
  Clock::time_point called;
  std::thread t([&] {
    called = Clock::now();
    waited = saver.save(sd, dir_ / "waited.wick");
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(returned) << "save() did not wait for a free slot";
  EXPECT_FALSE(held.done());
  const auto opened = Clock::now();
  gate.open();
  t.join();
  held.wait();
  waited.wait();
  EXPECT_TRUE(saver.done());
  EXPECT_EQ(saver.in_flight(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "skipped.wick"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "waited.wick"));
  // The stall counts the wait for the slot, which lasted at least until the gate opened.
  const double held_for = std::chrono::duration<double>(opened - called).count();
  EXPECT_GE(waited.stats().stall_seconds, held_for - 0.01);

  // With a free slot try_save saves.
  std::optional<SaveHandle> tried = saver.try_save(sd, dir_ / "tried.wick");
  ASSERT_TRUE(tried.has_value());
  tried->wait();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "tried.wick"));
}

TEST_P(AsyncSaverModes, OnceItsHandleIsDoneASaveIsNoLongerInFlight) {
  // A caller that waited for its save gets its slot back at once: in_flight() is 0 and the next
  // try_save() saves. Many small saves, so that the instant between the two shows if it exists.
  AsyncSaver saver(options());
  const Value v = Dict{{"w", randn({16})}};
  constexpr int kRounds = testing::kSanitized ? 100 : 1000;
  int still_in_flight = 0, refused = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::optional<SaveHandle> h = saver.try_save(v, dir_ / "ckpt.wick");
    if (!h.has_value()) {
      ++refused;
      saver.wait();
      continue;
    }
    h->wait();
    if (saver.in_flight() != 0) ++still_in_flight;
  }
  EXPECT_EQ(still_in_flight, 0) << "of " << kRounds << " saves waited for";
  EXPECT_EQ(refused, 0) << "of " << kRounds << " try_save() calls right after a wait()";
}

TEST_P(AsyncSaverModes, InFlightCountsUpToTheLimit) {
  const TensorDict sd = plain_state(256);
  AsyncSaver saver(options(2));
  Gate gate;
  SaveHandle a = saver.save(sd, dir_ / "a.wick", with_progress(gate.progress()));
  SaveHandle b = saver.save(sd, dir_ / "b.wick", with_progress(gate.progress()));
  ASSERT_TRUE(gate.wait_for_a_call());
  EXPECT_EQ(saver.in_flight(), 2);
  EXPECT_FALSE(saver.try_save(sd, dir_ / "c.wick").has_value());
  gate.open();
  a.wait();
  b.wait();
  EXPECT_EQ(saver.in_flight(), 0);
  EXPECT_TRUE(saver.done());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "c.wick"));
}

TEST_P(AsyncSaverModes, OneFileUnderTwoSpellingsIsOnePath) {
  // "ckpt.wick" and "./sub/../ckpt.wick" are one file: the newer save still wins, and the
  // caller is never held by the older one's progress callback.
  const auto path = dir_ / "ckpt.wick";
  std::filesystem::create_directories(dir_ / "sub");
  const auto other_spelling = dir_ / "." / "sub" / ".." / "ckpt.wick";
  const testing::Generations gen{4, {256, 256}};
  const std::vector<char> want =
      sync_bytes(gen.value(2), dir_ / "sync.wick", gen.options(2, false));
  AsyncSaver saver(options(2));
  Gate gate;
  SaveOptions held = gen.options(1, false);
  held.progress = gate.progress();
  SaveHandle a = saver.save(gen.value(1), path, held);
  ASSERT_TRUE(gate.wait_for_a_call());
  SaveHandle b = saver.save(gen.value(2), other_spelling, gen.options(2, false));
  EXPECT_FALSE(b.done()) << "the newer save ended while the older one was still held";
  gate.open();
  EXPECT_NO_THROW(b.wait());
  EXPECT_NO_THROW(a.wait());
  EXPECT_TRUE(a.done());
  EXPECT_TRUE(same_file(path, want));
}

TEST_P(AsyncSaverModes, AnOlderSaveToOnePathIsSupersededByANewerOne) {
  // a is held (its progress callback blocks), b and c to the same path follow. The file is c's.
  // Copy mode: a is being written by the writer thread and ends as written; b, queued behind
  // it, is dropped when c comes. Fork mode: a has not ended when b comes, so b kills its child
  // and a is superseded (as c may supersede b, if b has not ended by then).
  const auto path = dir_ / "ckpt.wick";
  const testing::Generations gen{4, {256, 256}};
  const Value newest = gen.value(3);
  const std::vector<char> want = sync_bytes(newest, dir_ / "sync.wick", gen.options(3, false));
  AsyncSaver saver(options(3));
  Gate gate;
  SaveOptions held = gen.options(1, false);
  held.progress = gate.progress();
  SaveHandle a = saver.save(gen.value(1), path, held);
  ASSERT_TRUE(gate.wait_for_a_call());
  // A newer save waits until the older ones to its path are done, which a held one is not
  // until its callback returns: the gate opens from another thread, after b and c are asked.
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate.open();
  });
  SaveHandle b = saver.save(gen.value(2), path, gen.options(2, false));
  SaveHandle c = saver.save(newest, path, gen.options(3, false));
  opener.join();
  EXPECT_NO_THROW(c.wait());
  EXPECT_NO_THROW(a.wait()) << "a superseded save is no error";
  EXPECT_NO_THROW(b.wait()) << "a superseded save is no error";
  EXPECT_NO_THROW(saver.wait());
  EXPECT_FALSE(c.superseded());
  if (mode() == SnapshotMode::kCopy) {
    EXPECT_FALSE(a.superseded());
    EXPECT_TRUE(b.superseded());
  } else {
    EXPECT_TRUE(a.superseded());
  }
  EXPECT_TRUE(same_file(path, want));
  EXPECT_EQ(testing::count_temp_files(path), 0);
}

TEST_P(AsyncSaverModes, TheDestructorWaits) {
  const auto path = dir_ / "ckpt.wick";
  const Value value = rich_value();
  const std::vector<char> want = sync_bytes(value, dir_ / "sync.wick");
  SaveHandle h;
  {
    AsyncSaver saver(options(2));
    saver.save(value, dir_ / "other.wick");
    h = saver.save(value, path);
  }
  EXPECT_TRUE(h.done());
  EXPECT_TRUE(same_file(path, want));
  EXPECT_TRUE(same_file(dir_ / "other.wick", want));
  EXPECT_NO_THROW(h.wait());
}

// "t<thread>-<save><extension>", appended piecewise: GCC 12's -Wrestrict misfires on "t" + s.
std::string file_name(int thread, int save_index, const char* extension) {
  std::string s = "t";
  s.append(std::to_string(thread)).append("-").append(std::to_string(save_index)).append(extension);
  return s;
}

TEST_P(AsyncSaverModes, SavesFromSeveralThreads) {
  // "Methods may be called from several threads": three threads save their own values through
  // one saver while a fourth watches it; no save exceeds the limit or loses its bytes.
  constexpr int kThreads = 3;
  constexpr int kSavesEach = 4;
  constexpr int kMaxInFlight = 2;
  AsyncSaver saver(options(kMaxInFlight));
  std::atomic<bool> stop{false};
  std::atomic<int> most_in_flight{0};
  std::thread watcher([&] {
    while (!stop) {
      most_in_flight = std::max(most_in_flight.load(), saver.in_flight());
      (void)saver.done();
      (void)saver.staging_bytes();
      std::this_thread::yield();
    }
  });
  std::vector<std::vector<std::vector<char>>> want(kThreads);
  // Built here: randn() draws from the default generator, which is not for several threads.
  std::vector<Value> values;
  for (int t = 0; t < kThreads; ++t)
    values.push_back(Dict{{"w", randn({256, 256})}, {"thread", t}});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        const Value& value = values[t];
        std::vector<SaveHandle> handles;
        for (int i = 0; i < kSavesEach; ++i) {
          want[t].push_back(sync_bytes(value, dir_ / file_name(t, i, ".sync")));
          handles.push_back(saver.save(value, dir_ / file_name(t, i, ".wick")));
          scribble(value, static_cast<unsigned char>(i + 1));
        }
        for (SaveHandle& h : handles)
          h.wait();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "thread %d: %s\n", t, e.what());
        ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  stop = true;
  watcher.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(most_in_flight, kMaxInFlight);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kSavesEach; ++i) {
      const std::string name = file_name(t, i, ".wick");
      EXPECT_TRUE(same_file(dir_ / name, want[t][i])) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Snapshot, AsyncSaverModes,
                         ::testing::Values(SnapshotMode::kCopy, SnapshotMode::kFork),
                         [](const ::testing::TestParamInfo<SnapshotMode>& p) {
                           return p.param == SnapshotMode::kCopy ? "Copy" : "Fork";
                         });

// ---------------------------------------------------------------------------------------------
// One mode, or comparing them.

TEST(AsyncSaver, MaxInFlightBelowOneIsRefused) {
  AsyncSaveOptions o;
  o.max_in_flight = 0;
  EXPECT_THROW(AsyncSaver{o}, ArgumentError);
  o.max_in_flight = -1;
  EXPECT_THROW(AsyncSaver{o}, ArgumentError);
}

TEST(AsyncSaver, AnEmptyHandleIsNotValidAndRefusesEverything) {
  SaveHandle h;
  EXPECT_FALSE(h.valid());
  EXPECT_THROW((void)h.done(), ArgumentError);
  EXPECT_THROW(h.wait(), ArgumentError);
  EXPECT_THROW((void)h.progress(), ArgumentError);
  EXPECT_THROW((void)h.superseded(), ArgumentError);
  EXPECT_THROW((void)h.stats(), ArgumentError);
  EXPECT_THROW((void)h.path(), ArgumentError);
}

TEST(AsyncSaver, AForkedSaveThenACopiedOneToOnePathKeepTheNewest) {
  // Modes may differ between saves to one path: a mode named in the call, or kAuto as the
  // state outgrows the staging limit. The newest must still be the file left, and the older
  // save done once the newer one is. The forked save is 64 MiB, the copied one a few bytes, so
  // the copy is written long before the fork's child ends.
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const testing::Generations big;  // 16 x 4 MiB
  const Value newest = Dict{{"generation", 2}};
  const std::vector<char> want = sync_bytes(newest, dir / "sync.wick");
  for (const bool automatic : {false, true}) {
    SCOPED_TRACE(automatic ? "kAuto over and under the staging limit" : "modes named");
    AsyncSaveOptions o;
    o.max_in_flight = 2;
    o.staging_limit = 1 << 20;
    AsyncSaver saver(o);
    const auto older_mode = automatic ? std::nullopt : std::optional(SnapshotMode::kFork);
    const auto newer_mode = automatic ? std::nullopt : std::optional(SnapshotMode::kCopy);
    SaveHandle older = saver.save(big.value(1), path, big.options(1, false), older_mode);
    SaveHandle newer = saver.save(newest, path, {}, newer_mode);
    newer.wait();
    EXPECT_TRUE(older.done()) << "the older save ends after the newer one";
    older.wait();
    EXPECT_EQ(older.stats().mode, SnapshotMode::kFork);
    EXPECT_EQ(newer.stats().mode, SnapshotMode::kCopy);
    EXPECT_TRUE(same_file(path, want)) << "the older save's file replaced the newer one's";
    std::filesystem::remove(path);
  }
}

TEST(AsyncSaver, ErrorFieldsAreTheSameInForkAndCopyMode) {
  // The fork mode's error crosses from the writer child to this process: it must arrive as the
  // same exception, with the same message and fields, as the copy mode's thread throws.
  ScratchDir dir;
  for (const auto& path : unwritable_paths(dir)) {
    SCOPED_TRACE(path.string());
    Caught by[2];
    const SnapshotMode modes[2] = {SnapshotMode::kCopy, SnapshotMode::kFork};
    for (int i = 0; i < 2; ++i) {
      AsyncSaver saver;
      SaveHandle h = saver.save(Dict{{"w", randn({64})}}, path, {}, modes[i]);
      by[i] = catch_error([&] { h.wait(); });
      EXPECT_EQ(h.stats().mode, modes[i]);
    }
    ASSERT_TRUE(by[0].thrown && by[1].thrown);
    EXPECT_EQ(by[0].type, typeid(IoError).name());
    EXPECT_EQ(by[1].type, by[0].type);
    EXPECT_EQ(by[1].what, by[0].what);
    EXPECT_EQ(by[1].info.subject, by[0].info.subject);
    EXPECT_EQ(by[1].info.file, by[0].info.file);
    EXPECT_EQ(by[1].info.offset, by[0].info.offset);
    EXPECT_EQ(by[1].info.structure, by[0].info.structure);
    EXPECT_EQ(by[1].info.expected, by[0].info.expected);
    EXPECT_EQ(by[1].info.found, by[0].info.found);
    EXPECT_EQ(by[1].info.detail, by[0].info.detail);
    // The message names the path, as wick::save's does.
    EXPECT_NE(by[0].what.find(path.string()), std::string::npos) << by[0].what;
  }
}

TEST(AsyncSaver, ErrorsAreThoseOfWickSave) {
  ScratchDir dir;
  for (const auto& path : unwritable_paths(dir)) {
    SCOPED_TRACE(path.string());
    const Value v = Dict{{"w", randn({64})}};
    const Caught sync = catch_error([&] { save(v, path); });
    AsyncSaver saver;
    SaveHandle h = saver.save(v, path);
    const Caught async = catch_error([&] { h.wait(); });
    ASSERT_TRUE(sync.thrown && async.thrown);
    EXPECT_EQ(async.type, sync.type);
    EXPECT_EQ(async.what, sync.what);
  }
}

// The header's promise: once the newest save to a path is done, so is every older one
// (written or superseded).
void saves_to_one_path_finish_in_the_order_asked(SnapshotMode mode) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const testing::Generations gen{4, {512, 512}};
  AsyncSaveOptions o;
  o.max_in_flight = 3;
  o.mode = mode;
  AsyncSaver saver(o);
  for (int round = 0; round < 10; ++round) {
    std::vector<SaveHandle> handles;
    for (int64_t g = 1; g <= 3; ++g)
      handles.push_back(saver.save(gen.value(g), path, gen.options(g, false)));
    handles.back().wait();
    for (std::size_t i = 0; i + 1 < handles.size(); ++i) {
      EXPECT_TRUE(handles[i].done()) << "round " << round << ": save " << i
                                     << " is not done after the newer save " << handles.size() - 1;
    }
    saver.wait();
  }
}

TEST(AsyncSaver, CopySavesToOnePathFinishInTheOrderAsked) {
  saves_to_one_path_finish_in_the_order_asked(SnapshotMode::kCopy);
}

TEST(AsyncSaver, ForkSavesToOnePathFinishInTheOrderAsked) {
  saves_to_one_path_finish_in_the_order_asked(SnapshotMode::kFork);
}

TEST(AsyncSaver, ASaveWaitingForASlotThrowsTheErrorOfTheSaveItWaitedFor) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "gone");
  const TensorDict sd = plain_state(256);
  AsyncSaveOptions o;
  o.mode = SnapshotMode::kCopy;
  AsyncSaver saver(o);
  Gate gate;
  // Held mid-write by its progress callback, before its link and rename.
  SaveHandle failing = saver.save(sd, dir / "gone" / "ckpt.wick", with_progress(gate.progress()));
  ASSERT_TRUE(gate.wait_for_a_call());
  bool threw = false;
  std::thread next([&] {
    try {
      saver.save(sd, dir / "next.wick");
    } catch (const IoError&) {
      threw = true;
    }
  });
  // The waiting save() has had time to block on the slot; the directory goes, so the held save
  // fails at its link or rename once let go.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::filesystem::remove_all(dir / "gone");
  gate.open();
  next.join();
  EXPECT_TRUE(failing.done());
  EXPECT_TRUE(threw) << "the save that waited for the failed one started anyway";
  EXPECT_NO_THROW(saver.wait());
  EXPECT_FALSE(std::filesystem::exists(dir / "next.wick"));
}

TEST(AsyncSaver, ALargeSnapshotCopiedOnTwoThreadsIsBitForBit) {
  // From 32 MiB the copy is split with a helper thread (when wick may use two), the cut falling
  // inside a tensor: 40 MiB, a strided view of it, and a small tensor after.
  ScratchDir dir;
  Generator gen(11);
  Tensor big = randn({10, 1024, 1024}, gen);
  const Value value =
      Dict{{"big", big}, {"every_third", big.slice(1, 0, 1024, 3)}, {"small", randn({1000}, gen)}};
  const std::vector<char> want = sync_bytes(value, dir / "sync.wick");
  AsyncSaveOptions o;
  o.mode = SnapshotMode::kCopy;
  AsyncSaver saver(o);
  SaveHandle h = saver.save(value, dir / "ckpt.wick");
  big.fill_(0.0);
  h.wait();
  EXPECT_TRUE(same_file(dir / "ckpt.wick", want));
}

TEST(AsyncSaver, CopyRefusesASnapshotOverTheStagingLimit) {
  ScratchDir dir;
  AsyncSaveOptions o;
  o.mode = SnapshotMode::kCopy;
  o.staging_limit = 1 << 20;
  AsyncSaver saver(o);
  const TensorDict big = plain_state(512);  // 2 MiB and more
  EXPECT_THROW(saver.save(big, dir / "big.wick"), ArgumentError);
  EXPECT_FALSE(std::filesystem::exists(dir / "big.wick"));
  EXPECT_EQ(saver.in_flight(), 0);
  EXPECT_LE(saver.staging_bytes(), o.staging_limit);
  EXPECT_NO_THROW(saver.wait()) << "the refusal was thrown already";
  // Under the limit it copies.
  const Value small = Dict{{"w", randn({128, 128})}};
  SaveHandle h = saver.save(small, dir / "small.wick");
  h.wait();
  EXPECT_EQ(h.stats().mode, SnapshotMode::kCopy);
  // The mode named in the call wins over the saver's: a fork takes any size.
  SaveHandle forked = saver.save(big, dir / "big.wick", {}, SnapshotMode::kFork);
  forked.wait();
  EXPECT_EQ(forked.stats().mode, SnapshotMode::kFork);
}

TEST(AsyncSaver, AutoForksOverTheStagingLimitAndCopiesUnder) {
  ScratchDir dir;
  AsyncSaveOptions o;
  o.staging_limit = 1 << 20;
  ASSERT_EQ(o.mode, SnapshotMode::kAuto);
  AsyncSaver saver(o);
  const TensorDict big = plain_state(512);
  const Value small = Dict{{"w", randn({128, 128})}};
  std::vector<char> want_big = [&] {
    save(big, dir / "sync.wick");
    return read_bytes(dir / "sync.wick");
  }();
  SaveHandle hb = saver.save(big, dir / "big.wick");
  SaveHandle hs = saver.save(small, dir / "small.wick");
  hb.wait();
  hs.wait();
  EXPECT_EQ(hb.stats().mode, SnapshotMode::kFork);
  EXPECT_EQ(hs.stats().mode, SnapshotMode::kCopy);
  EXPECT_TRUE(same_file(dir / "big.wick", want_big));
  // A mode named in the call wins over kAuto.
  SaveHandle hc = saver.save(small, dir / "small.wick", {}, SnapshotMode::kFork);
  hc.wait();
  EXPECT_EQ(hc.stats().mode, SnapshotMode::kFork);
  // Default options: a small state fits a quarter of the memory.
  AsyncSaver by_default;
  SaveHandle hd = by_default.save(small, dir / "default.wick");
  hd.wait();
  EXPECT_EQ(hd.stats().mode, SnapshotMode::kCopy);
}

TEST(AsyncSaver, StagingBuffersAreReusedAndReleased) {
  ScratchDir dir;
  AsyncSaveOptions o;
  o.mode = SnapshotMode::kCopy;
  AsyncSaver saver(o);
  EXPECT_EQ(saver.staging_bytes(), 0u);
  TensorDict sd = plain_state(512);
  const uint64_t bytes = state_bytes(sd);
  saver.save(sd, dir / "ckpt.wick").wait();
  const std::size_t first = saver.staging_bytes();
  EXPECT_GE(first, bytes) << "the buffers are kept for the next save";
  // The next save of the same state (new values, same shapes) allocates nothing.
  for (int step = 0; step < 3; ++step) {
    scribble(sd, static_cast<unsigned char>(step));
    std::vector<char> want = [&] {
      save(sd, dir / "sync.wick");
      return read_bytes(dir / "sync.wick");
    }();
    SaveHandle h = saver.save(sd, dir / "ckpt.wick");
    EXPECT_EQ(saver.staging_bytes(), first) << "step " << step;
    h.wait();
    EXPECT_EQ(saver.staging_bytes(), first) << "step " << step;
    EXPECT_TRUE(same_file(dir / "ckpt.wick", want));
  }
  saver.release_staging();
  EXPECT_EQ(saver.staging_bytes(), 0u);
  // And saves go on after a release.
  saver.save(sd, dir / "ckpt.wick").wait();
  EXPECT_GE(saver.staging_bytes(), bytes);
}

TEST(AsyncSaver, ReleaseStagingKeepsTheBuffersOfASaveInFlight) {
  ScratchDir dir;
  AsyncSaveOptions o;
  o.mode = SnapshotMode::kCopy;
  AsyncSaver saver(o);
  const TensorDict sd = plain_state(256);
  const std::vector<char> want = [&] {
    save(sd, dir / "sync.wick");
    return read_bytes(dir / "sync.wick");
  }();
  Gate gate;
  SaveHandle h = saver.save(sd, dir / "ckpt.wick", with_progress(gate.progress()));
  ASSERT_TRUE(gate.wait_for_a_call());
  saver.release_staging();
  EXPECT_GE(saver.staging_bytes(), state_bytes(sd)) << "freed the buffers of a save in flight";
  gate.open();
  h.wait();
  EXPECT_TRUE(same_file(dir / "ckpt.wick", want));
  saver.release_staging();
  EXPECT_EQ(saver.staging_bytes(), 0u);
}

}  // namespace
}  // namespace wick
