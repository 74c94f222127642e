#include <gtest/gtest.h>

#include <sys/stat.h>

#include <sstream>
#include <thread>

#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::TempDir;

constexpr DType kAllDTypes[] = {kBool,  kUInt8,   kInt8,     kInt16,   kInt32,
                                kInt64, kFloat16, kBFloat16, kFloat32, kFloat64};

// A tensor of `dtype` whose elements exercise the type: negatives, fractions, extremes.
Tensor sample(DType dtype, const Shape& shape, uint64_t seed) {
  Generator g(seed);
  Tensor t = randn(shape, g, kFloat64) * (is_floating(dtype) ? 1000.0 : 50.0);
  if (dtype == kBool) return t > 0;
  return t.to(dtype);
}

std::string roundtrip_bytes(const Value& v, const SaveOptions& o = {}) {
  std::ostringstream out;
  save(v, out, o);
  return out.str();
}

Value roundtrip(const Value& v, const LoadOptions& lo = {}) {
  std::istringstream in(roundtrip_bytes(v));
  return load(in, lo);
}

TEST(Serialize, EveryDtypeAndShapeRoundTripsBitExactly) {
  const Shape shapes[] = {{}, {0}, {1}, {7}, {3, 5}, {2, 0, 4}, {2, 3, 4, 5}, {1, 1, 1, 1, 1, 2}};
  uint64_t seed = 1;
  for (DType d : kAllDTypes) {
    for (const Shape& s : shapes) {
      const Tensor t = sample(d, s, seed++);
      const Value back = roundtrip(t);
      ASSERT_TRUE(back.is_tensor());
      EXPECT_EQ(back.tensor().dtype(), d);
      EXPECT_EQ(back.tensor().shape(), s);
      EXPECT_TRUE(bitwise_equal(back.tensor(), t)) << dtype_name(d) << " " << shape_str(s);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(back.tensor().raw_data()) % 64, 0u);
    }
  }
}

// Payloads of 4 MiB and more have their pages faulted in by a second thread while read() fills
// them (parse.cpp): the tensors must be those of a load on one thread, at sizes that end inside
// a page and inside a huge page, with smaller tensors between them.
TEST(Serialize, LargeTensorsLoadTheSameOnOneThreadOrTwo) {
  TempDir dir;
  const Tensor a = randn({(5 << 18) + 1});          // 5 MiB + 4 bytes
  const Tensor b = randn({3, 1 << 20}, kFloat64);   // 24 MiB
  const Tensor c = randn({1 << 20}).to(kBFloat16);  // 2 MiB: below the threshold
  const Value saved = Dict{{"a", a}, {"small", randn({7})}, {"b", b}, {"c", c}, {"a2", a * 2}};
  save(saved, dir / "big.wick");
  const int threads = num_threads();
  set_num_threads(1);
  const Value one = load(dir / "big.wick");
  set_num_threads(2);
  const Value two = load(dir / "big.wick");
  set_num_threads(threads);
  EXPECT_EQ(one, saved);
  EXPECT_EQ(two, saved);
  EXPECT_TRUE(bitwise_equal(two["b"].tensor(), b));
}

TEST(Serialize, SpecialFloatsKeepTheirBits) {
  const Tensor t = from_vector(std::vector<double>{
      -0.0, std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
      std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::denorm_min()});
  EXPECT_TRUE(bitwise_equal(roundtrip(t).tensor(), t));
  const Tensor h = t.to(kFloat16);
  EXPECT_TRUE(bitwise_equal(roundtrip(h).tensor(), h));
}

TEST(Serialize, NestedListsDictsAndScalars) {
  Dict inner{{"lr", 0.01}, {"betas", List{0.9, 0.999}}, {"name", "adam"}, {"none", nullptr}};
  const Value v = Dict{{"model", Dict{{"w", arange(6).view({2, 3})}}},
                       {"optimizer", inner},
                       {"epoch", 7},
                       {"done", false},
                       {"history", List{List{}, Dict{}, List{1, List{2, List{3}}}}},
                       {"", "empty key is allowed"}};
  const Value back = roundtrip(v);
  EXPECT_EQ(back, v);
  EXPECT_EQ(back["optimizer"]["betas"][1].as_float(), 0.999);
  EXPECT_EQ(back["epoch"].as_int(), 7);
  EXPECT_EQ(back.dict().keys(),
            (std::vector<Key>{"model", "optimizer", "epoch", "done", "history", ""}));
}

TEST(Serialize, TiedTensorsAreStoredOnceAndLoadShared) {
  const Tensor w = randn({64, 64});
  const Value v = Dict{{"encoder.weight", w}, {"decoder.weight", w}, {"other", w.t()}};
  const std::string once = roundtrip_bytes(v);
  const std::string twice = roundtrip_bytes(Dict{{"a", w}, {"b", w.clone()}, {"other", w.t()}});
  EXPECT_LT(once.size() + 64 * 64 * 4 - 256, twice.size());  // one payload fewer
  std::istringstream in(once);
  const Value back = load(in);
  EXPECT_TRUE(back["encoder.weight"].tensor().is_same(back["decoder.weight"].tensor()));
  // A different view of the same storage is a view of the same record (format 2.1).
  EXPECT_TRUE(back["other"].tensor().shares_storage(back["encoder.weight"].tensor()));
  EXPECT_TRUE(bitwise_equal(back["other"].tensor(), w.t()));
}

TEST(Serialize, NonContiguousViewsAreWrittenContiguous) {
  const Tensor base = arange(0, 4096 * 3, 1, kFloat32).view({64, 192});
  const Tensor views[] = {base.t(), base.slice(1, 1, 190, 3), base.select(1, 5),
                          base.unsqueeze(0).expand({3, 64, 192}),
                          // Large enough to go through the chunked path (> 256 KiB).
                          arange(0, 300000, 1, kFloat64).view({600, 500}).t()};
  for (const Tensor& v : views) {
    const Tensor back = roundtrip(v).tensor();
    EXPECT_TRUE(back.is_contiguous());
    EXPECT_TRUE(bitwise_equal(back, v)) << shape_str(v.shape());
  }
}

TEST(Serialize, SameValueGivesIdenticalBytes) {
  const Value v = Dict{{"x", arange(4)}, {"y", zeros({4})}, {"meta", List{1, "two", 3.0}}};
  SaveOptions o;
  o.metadata = Dict{{"step", 5}};
  EXPECT_EQ(roundtrip_bytes(v, o), roundtrip_bytes(v, o));
  // Equal values built separately also give identical bytes.
  const Value w = Dict{{"x", arange(4)}, {"y", zeros({4})}, {"meta", List{1, "two", 3.0}}};
  EXPECT_EQ(roundtrip_bytes(v, o), roundtrip_bytes(w, o));
}

TEST(Serialize, MetadataRoundTripsThroughTheReader) {
  TempDir dir;
  SaveOptions o;
  o.metadata = Dict{{"epoch", 3}, {"lr", 0.5}, {"note", "hello"}, {"ok", true}, {"nil", nullptr}};
  save(Dict{{"w", ones({2})}}, dir / "m.wick", o);
  io::Reader r(dir / "m.wick");
  EXPECT_EQ(Value(r.metadata()), Value(o.metadata));
  EXPECT_EQ(r.info().producer, std::string("wick ") + std::string(version()));
  EXPECT_EQ(r.info().major, 1);
  o.metadata = Dict{{"bad", List{1}}};
  WICK_EXPECT_THROW_MSG(save(1, dir / "n.wick", o), ArgumentError,
                        "metadata 'bad' is a list; metadata values must be none, bool, int");
  EXPECT_FALSE(std::filesystem::exists(dir / "n.wick"));
}

TEST(Serialize, TutorialListAndDict) {
  TempDir dir;
  const Tensor x = arange(4);
  const Tensor y = zeros({4});
  save({x, y}, dir / "x-file");
  const Value xs = load(dir / "x-file");
  std::ostringstream s1;
  s1 << xs[0].tensor() << '\n' << xs[1].tensor();
  EXPECT_EQ(s1.str(), "tensor([0, 1, 2, 3])\ntensor([0., 0., 0., 0.])");
  save(Dict{{"x", x}, {"y", y}}, dir / "mydict");
  std::ostringstream s2;
  s2 << load(dir / "mydict");
  EXPECT_EQ(s2.str(), "{'x': tensor([0, 1, 2, 3]), 'y': tensor([0., 0., 0., 0.])}");
}

TEST(Serialize, StateDictIntoFreshModelGivesIdenticalOutputs) {
  using MLP = testing::TutorialMlp;
  TempDir dir;
  MLP net;
  const Tensor X = randn({2, 20});
  save(net.state_dict(), dir / "mlp.params");
  MLP clone;
  clone.load_state_dict(load(dir / "mlp.params"));
  EXPECT_TRUE(bitwise_equal(clone.forward(X), net.forward(X)));
  for (bool mmap : {false, true}) {
    MLP c2;
    LoadOptions lo;
    lo.mmap = mmap;
    c2.load_state_dict(load(dir / "mlp.params", lo));
    EXPECT_TRUE(bitwise_equal(c2.forward(X), net.forward(X)));
  }
  WICK_EXPECT_THROW_MSG(clone.load_state_dict(Value(List{1})), ArgumentError,
                        "expected a dict of tensors");
}

TEST(Serialize, PipeBetweenTwoThreads) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const Value v = Dict{{"big", randn({512, 1024})}, {"small", arange(3)}, {"n", 1}};
  std::thread producer([&] {
    // A FILE-less ostream over the write end of the pipe.
    struct FdBuf : std::streambuf {
      int fd;
      explicit FdBuf(int f) : fd(f) {}
      std::streamsize xsputn(const char* s, std::streamsize n) override {
        std::streamsize done = 0;
        while (done < n) {
          const ssize_t w = ::write(fd, s + done, static_cast<std::size_t>(n - done));
          if (w <= 0) return done;
          done += w;
        }
        return done;
      }
      int overflow(int c) override {
        const char ch = static_cast<char>(c);
        return ::write(fd, &ch, 1) == 1 ? c : EOF;
      }
    } buf(fds[1]);
    std::ostream out(&buf);
    save(v, out);
    // Something after the file: the reader must stop exactly at the file's end.
    out << "TAIL";
    out.flush();
    ::close(fds[1]);
  });
  struct FdInBuf : std::streambuf {
    int fd;
    char c[4096];
    explicit FdInBuf(int f) : fd(f) {}
    int underflow() override {
      const ssize_t r = ::read(fd, c, sizeof c);
      if (r <= 0) return EOF;
      setg(c, c, c + r);
      return static_cast<unsigned char>(c[0]);
    }
  } inbuf(fds[0]);
  std::istream in(&inbuf);
  const Value back = load(in);
  std::string tail(4, '\0');
  in.read(tail.data(), 4);
  producer.join();
  ::close(fds[0]);
  EXPECT_EQ(back, v);
  EXPECT_EQ(tail, "TAIL");
}

TEST(Serialize, MmapTensorsAreZeroCopyAndPrivate) {
  TempDir dir;
  const Tensor w = randn({256, 256});
  save(Dict{{"w", w}}, dir / "m.wick");
  LoadOptions lo;
  lo.mmap = true;
  for (bool verify : {true, false}) {
    lo.verify = verify;
    Value v = load(dir / "m.wick", lo);
    Tensor t = v["w"].tensor();
    EXPECT_TRUE(t.storage()->borrowed());
    EXPECT_TRUE(bitwise_equal(t, w));
    t.fill_(0);  // copy-on-write: the file is untouched
  }
  EXPECT_TRUE(bitwise_equal(load(dir / "m.wick")["w"].tensor(), w));
}

TEST(Serialize, SavingOverAMappedFileLeavesTheMappingUnchanged) {
  TempDir dir;
  const Tensor a = full({1024, 64}, 1.5);
  save(Dict{{"w", a}}, dir / "m.wick");
  LoadOptions lo;
  lo.mmap = true;
  const Value mapped = load(dir / "m.wick", lo);
  save(Dict{{"w", full({1024, 64}, -7.0)}}, dir / "m.wick");
  EXPECT_TRUE(bitwise_equal(mapped["w"].tensor(), a));
  EXPECT_EQ(load(dir / "m.wick")["w"].tensor()[0][0].item<float>(), -7.0f);
}

TEST(Serialize, LoadByNameAndListEntriesWithoutPayloads) {
  TempDir dir;
  const Tensor w1 = randn({8, 4});
  const Value v = Dict{{"model", Dict{{"hidden", Dict{{"weight", w1}}}, {"tied", w1}}},
                       {"layers", List{arange(3), ones({2}, kBFloat16)}},
                       {"epoch", 2}};
  save(v, dir / "c.wick");
  io::Reader r(dir / "c.wick");
  const auto entries = r.entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].path, "/model/hidden/weight");
  EXPECT_EQ(entries[1].path, "/model/tied");
  EXPECT_EQ(entries[1].id, entries[0].id);
  EXPECT_EQ(entries[2].path, "/layers/0");
  EXPECT_EQ(entries[3].path, "/layers/1");
  EXPECT_EQ(entries[3].path.size(), 9u);
  EXPECT_EQ(entries[3].dtype, kBFloat16);
  EXPECT_EQ(entries[3].shape, (Shape{2}));
  EXPECT_EQ(entries[0].nbytes, 8u * 4u * 4u);
  EXPECT_EQ(entries[0].offset % 64, 0u);
  EXPECT_EQ(r.info().tensor_count, 3u);
  EXPECT_TRUE(bitwise_equal(r.tensor("/model/tied"), w1));
  EXPECT_TRUE(bitwise_equal(r.tensor("/layers/0"), arange(3)));
  EXPECT_TRUE(bitwise_equal(r.tensor_by_id(entries[3].id), ones({2}, kBFloat16)));
  // The dotted spelling of state_dict keys, when it names one tensor.
  EXPECT_TRUE(bitwise_equal(r.tensor("model.tied"), w1));
  EXPECT_TRUE(bitwise_equal(r.tensor("layers.0"), arange(3)));
  WICK_EXPECT_THROW_MSG(r.tensor("model.hidden"), ArgumentError, "no tensor at 'model.hidden' in");
  WICK_EXPECT_THROW_MSG(r.tensor("model.hidden"), ArgumentError, "'/model/hidden/weight'");
  WICK_EXPECT_THROW_MSG(r.tensor("/model/hidden"), ArgumentError, "no tensor at '/model/hidden'");
  WICK_EXPECT_THROW_MSG(r.tensor("/layers/00"), ArgumentError, "no tensor at '/layers/00'");
  WICK_EXPECT_THROW_MSG(r.tensor("/layers/2"), ArgumentError, "no tensor at '/layers/2'");
  WICK_EXPECT_THROW_MSG(r.tensor("/model/~2"), ArgumentError, "must be followed by 0");
  WICK_EXPECT_THROW_MSG(r.tensor_by_id(3), ArgumentError, "which has 3 tensors");
  EXPECT_NO_THROW(r.verify());
  EXPECT_EQ(r.value(), v);
}

// FORMAT.md "Tree paths": keys with dots, slashes and tildes, and keys that look like list
// indices, each have one path and are found by it.
TEST(Serialize, TreePathsAreJsonPointersThatNoKeyCanFool) {
  TempDir dir;
  const Tensor a = arange(1), b = arange(2), c = arange(3), d = arange(4), e = arange(5);
  const Value v = Dict{{"a.b", a}, {"a", Dict{{"b", b}}}, {"x/y~z", c}, {"0", List{d}}, {"", e}};
  save(v, dir / "p.wick");
  io::Reader r(dir / "p.wick");
  std::vector<std::string> paths;
  for (const auto& entry : r.entries())
    paths.push_back(entry.path.str());
  EXPECT_EQ(paths, (std::vector<std::string>{"/a.b", "/a/b", "/x~1y~0z", "/0/0", "/"}));
  EXPECT_TRUE(bitwise_equal(r.tensor("/a.b"), a));
  EXPECT_TRUE(bitwise_equal(r.tensor("/a/b"), b));
  EXPECT_TRUE(bitwise_equal(r.tensor("/x~1y~0z"), c));
  EXPECT_TRUE(bitwise_equal(r.tensor("/0/0"), d));
  EXPECT_TRUE(bitwise_equal(r.tensor("/"), e));
  EXPECT_TRUE(bitwise_equal(r.tensor("0.0"), d));
  WICK_EXPECT_THROW_MSG(r.tensor("a.b"), ArgumentError,
                        "'a.b' names 2 tensors in " + (dir / "p.wick").string() +
                            " (/a.b, /a/b); name one by its JSON pointer");
  WICK_EXPECT_THROW_MSG(r.tensor("a.c"), ArgumentError, "no tensor at 'a.c'");
}

// The tutorial's checkpoint as torch.save writes it: optimizer state keyed by parameter index,
// Adam's betas a tuple. Format 2.0 holds both; save() picks 2.0 by itself.
Value torch_style_checkpoint() {
  const Tensor w = randn({3, 2}), b = zeros({3});
  Dict state;
  state.insert(0, Dict{{"step", full({}, 4.0)}, {"exp_avg", randn({3, 2})}});
  state.insert(1, Dict{{"step", full({}, 4.0)}, {"exp_avg", randn({3})}});
  const Value group =
      Dict{{"lr", 0.001},      {"betas", Tuple{0.9, 0.999}}, {"eps", 1e-8},
           {"amsgrad", false}, {"foreach", nullptr},         {"params", List{0, 1}}};
  return Dict{{"model_state_dict", Dict{{"fc.weight", w}, {"fc.bias", b}}},
              {"optimizer_state_dict", Dict{{"state", state}, {"param_groups", List{group}}}},
              {"epoch", 5}};
}

TEST(Serialize, IntKeysAndTuplesRoundTripInFormat2) {
  TempDir dir;
  const Value v = torch_style_checkpoint();
  save(v, dir / "c.wick");
  io::Reader r(dir / "c.wick");
  EXPECT_EQ(r.info().major, 2);
  EXPECT_EQ(r.info().minor, 0);
  EXPECT_EQ(r.value(), v);
  EXPECT_EQ(load(dir / "c.wick"), v);
  LoadOptions mmap;
  mmap.mmap = true;
  EXPECT_EQ(load(dir / "c.wick", mmap), v);
  EXPECT_EQ(roundtrip(v), v);
  EXPECT_NO_THROW(r.verify());
  // An int key is a path step in decimal.
  std::vector<std::string> paths;
  for (const auto& e : r.entries())
    paths.push_back(e.path.str());
  EXPECT_EQ(paths,
            (std::vector<std::string>{
                "/model_state_dict/fc.weight", "/model_state_dict/fc.bias",
                "/optimizer_state_dict/state/0/step", "/optimizer_state_dict/state/0/exp_avg",
                "/optimizer_state_dict/state/1/step", "/optimizer_state_dict/state/1/exp_avg"}));
  const Tensor& exp_avg = v["optimizer_state_dict"]["state"].at(1)["exp_avg"].tensor();
  EXPECT_TRUE(bitwise_equal(r.tensor("/optimizer_state_dict/state/1/exp_avg"), exp_avg));
  EXPECT_TRUE(bitwise_equal(r.tensor("optimizer_state_dict.state.1.exp_avg"), exp_avg));
  // A value with neither stays 1.0, byte for byte what 1.0 writers wrote.
  save(v["model_state_dict"], dir / "m.wick");
  EXPECT_EQ(io::Reader(dir / "m.wick").info().major, 1);
}

// Python allows {0: a, "0": b}; a path could not tell the two apart, so wick files refuse it.
TEST(Serialize, AnIntKeyBesideTheStringOfItsDigitsIsRefused) {
  TempDir dir;
  WICK_EXPECT_THROW_MSG(
      save(Value(Dict{{"opt", Dict{{0, arange(1)}, {"0", arange(2)}}}}), dir / "k.wick"),
      ArgumentError,
      "save: the dict at 'opt' has both the int key 0 and the string key '0', which a path "
      "cannot tell apart");
  EXPECT_FALSE(std::filesystem::exists(dir / "k.wick"));
  // Other spellings stay apart, and each has its one path.
  save(Value(Dict{{0, arange(1)}, {"00", arange(2)}, {-7, arange(3)}}), dir / "k.wick");
  io::Reader r(dir / "k.wick");
  EXPECT_TRUE(bitwise_equal(r.tensor("/0"), arange(1)));
  EXPECT_TRUE(bitwise_equal(r.tensor("/00"), arange(2)));
  EXPECT_TRUE(bitwise_equal(r.tensor("/-7"), arange(3)));
}

TEST(Serialize, AWriterWritesFormat2OnlyWhenAskedAndRefusesWhat1_0CannotHold) {
  TempDir dir;
  {
    // Refused before any of it is written, tensors included: the Writer stays usable.
    io::Writer w(dir / "a.wick");
    WICK_EXPECT_THROW_MSG(
        w.add("opt", Value(Dict{{"w", randn({1 << 16})}, {"betas", Tuple{0.9, 0.999}}})),
        ArgumentError,
        "save: the tuple at 'opt.betas' needs format 2.0, and this file is 1.0 "
        "(SaveOptions::format_major is 0: save() picks 2.0 by itself, a Writer fed with add() "
        "writes 1.0 unless it is 2)");
    EXPECT_EQ(w.bytes_written(), 64U);  // the file header only
    w.add("opt", Value(Dict{{"betas", List{0.9, 0.999}}}));
    w.finish();
    EXPECT_EQ(load(dir / "a.wick"), Value(Dict{{"opt", Dict{{"betas", List{0.9, 0.999}}}}}));
  }
  SaveOptions two;
  two.format_major = 2;
  {
    io::Writer w(dir / "b.wick", two);
    w.add("betas", Value(Tuple{0.9, 0.999}));
    w.add("state", Value(Dict{{0, arange(2)}}));
    w.finish();
  }
  EXPECT_EQ(io::Reader(dir / "b.wick").info().major, 2);
  EXPECT_EQ(load(dir / "b.wick"),
            Value(Dict{{"betas", Tuple{0.9, 0.999}}, {"state", Dict{{0, arange(2)}}}}));
  // Asked for, 2.0 is written even for a value 1.0 could hold; 1 forces 1.0.
  save(Value(Dict{{"w", arange(2)}}), dir / "c.wick", two);
  EXPECT_EQ(io::Reader(dir / "c.wick").info().major, 2);
  SaveOptions one;
  one.format_major = 1;
  WICK_EXPECT_THROW_MSG(save(Value(Dict{{1, 2}}), dir / "d.wick", one), ArgumentError,
                        "the dict with int keys at '' needs format 2.0, and this file is 1.0 "
                        "(SaveOptions::format_major is 1)");
  SaveOptions three;
  three.format_major = 3;
  WICK_EXPECT_THROW_MSG(save(Value(1), dir / "e.wick", three), ArgumentError,
                        "save: format 3.0: this writer writes 1.0, 2.0 or 2.1");
  EXPECT_FALSE(std::filesystem::exists(dir / "d.wick"));
  EXPECT_FALSE(std::filesystem::exists(dir / "e.wick"));
}

// Metadata keys stay strings in every version.
TEST(Serialize, IntMetadataKeysAreRefused) {
  SaveOptions o;
  o.metadata.insert(3, "x");
  std::ostringstream out;
  WICK_EXPECT_THROW_MSG(save(Value(1), out, o), ArgumentError,
                        "save: metadata key 3 is an int; metadata keys are strings");
}

TEST(Serialize, ProgressIsReportedAndReachesTheTotal) {
  TempDir dir;
  const Value v = Dict{{"a", randn({512, 512})}, {"b", randn({100})}};
  uint64_t last_done = 0, last_total = 0, calls = 0;
  SaveOptions so;
  so.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  };
  save(v, dir / "p.wick", so);
  EXPECT_GT(calls, 1u);
  EXPECT_EQ(last_total, (512u * 512u + 100u) * 4u);
  EXPECT_EQ(last_done, last_total);
  LoadOptions lo;
  last_done = 0;
  calls = 0;
  lo.progress = so.progress;
  load(dir / "p.wick", lo);
  EXPECT_GT(calls, 1u);
  EXPECT_EQ(last_total, std::filesystem::file_size(dir / "p.wick"));
}

TEST(Serialize, AtomicSaveKeepsPermissionsAndLeavesNoTempFiles) {
  TempDir dir;
  const auto path = dir / "w.wick";
  save(1, path);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  save(2, path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(load(path).as_int(), 2);
  SaveOptions fast;
  fast.durable = false;
  save(3, path, fast);
  EXPECT_EQ(load(path).as_int(), 3);
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
    ++files;
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace wick
