// The pickle torch.save writes for a value tree: protocol 2, tensors rebuilt by
// torch._utils._rebuild_tensor_v2 from storages named by persistent id. Only opcodes that
// torch.load(weights_only=True) accepts are used (floats excepted: see pytorch.h).

#include <algorithm>
#include <bit>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "common/tensor_bytes.h"
#include "interop/pickle.h"
#include "wick/core/error.h"

namespace wick::io::detail {
namespace {

const char* storage_class(DType d) {
  switch (d) {
    case DType::Bool:
      return "BoolStorage";
    case DType::UInt8:
      return "ByteStorage";
    case DType::Int8:
      return "CharStorage";
    case DType::Int16:
      return "ShortStorage";
    case DType::Int32:
      return "IntStorage";
    case DType::Int64:
      return "LongStorage";
    case DType::Float16:
      return "HalfStorage";
    case DType::BFloat16:
      return "BFloat16Storage";
    case DType::Float32:
      return "FloatStorage";
    case DType::Float64:
      return "DoubleStorage";
  }
  return "FloatStorage";
}

std::string join(const std::vector<std::string>& path) {
  std::string p;
  for (const auto& s : path)
    p += (p.empty() ? "" : ".") + s;
  return p.empty() ? std::string("the root") : "'" + p + "'";
}

class Pickler {
 public:
  Pickler(std::vector<PickledStorage>& storages, const std::string& op)
      : storages_(storages), op_(op) {}

  std::string run(const Value& value) {
    std::vector<std::string> path;
    collect(value, 0, path);
    plan();
    out_ = "\x80\x02";  // PROTO 2
    emit(value, path);
    out_ += '.';
    return std::move(out_);
  }

 private:
  // Where each tensor's elements are in the storages written: record, offset, strides.
  struct Placement {
    std::size_t storage = 0;
    int64_t offset = 0;
    Shape strides;
  };
  struct Group {
    DType dtype;
    bool mixed = false;
    std::vector<std::size_t> members;
  };

  void collect(const Value& v, int depth, std::vector<std::string>& path) {
    switch (v.kind()) {
      case Value::Kind::Tensor:
        WICK_CHECK(v.tensor().defined(), ArgumentError, op_, ": tensor at ", join(path),
                   " is undefined");
        check_writable(v.tensor(), kMaxPickleRank, op_ + ": tensor at " + join(path));
        tensors_.push_back(v.tensor());
        return;
      case Value::Kind::List:
      case Value::Kind::Tuple:
      case Value::Kind::Dict:
        break;
      default:
        return;
    }
    WICK_CHECK(depth < kMaxDepth, ArgumentError, op_, ": nesting deeper than ", kMaxDepth, " at ",
               join(path));
    if (!v.is_dict()) {
      const std::vector<Value>& items = v.is_list() ? v.list() : v.tuple();
      for (std::size_t i = 0; i < items.size(); ++i) {
        path.push_back(std::to_string(i));
        collect(items[i], depth + 1, path);
        path.pop_back();
      }
    } else {
      for (const auto& [key, item] : v.dict()) {
        path.push_back(key.text());
        collect(item, depth + 1, path);
        path.pop_back();
      }
    }
  }

  std::size_t add_storage(Tensor data) {
    storages_.push_back({std::to_string(storages_.size()), std::move(data)});
    return storages_.size() - 1;
  }

  // Tensors viewing one storage with one dtype share one record covering the elements they
  // use; anything else gets a contiguous copy of its own.
  void plan() {
    std::unordered_map<const Storage*, std::size_t> group_of;
    std::vector<Group> groups;
    placements_.resize(tensors_.size());
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const Tensor& t = tensors_[i];
      if (t.numel() == 0) {
        placements_[i] = {add_storage(Tensor(Storage::allocate(0), {0}, {1}, 0, t.dtype())), 0,
                          contiguous_strides(t.shape())};
        continue;
      }
      auto [it, fresh] = group_of.emplace(t.storage().get(), groups.size());
      if (fresh) groups.push_back({t.dtype(), false, {}});
      Group& g = groups[it->second];
      g.mixed = g.mixed || g.dtype != t.dtype();
      g.members.push_back(i);
    }
    for (const Group& g : groups) {
      if (g.mixed) {
        for (std::size_t i : g.members) {
          const Tensor c = tensors_[i].contiguous();
          placements_[i] = {add_storage(c.view({c.numel()})), 0, contiguous_strides(c.shape())};
        }
        continue;
      }
      int64_t lo = std::numeric_limits<int64_t>::max();
      int64_t hi = 0;
      for (std::size_t i : g.members) {
        const Tensor& t = tensors_[i];
        int64_t last = t.offset();
        for (int64_t d = 0; d < t.dim(); ++d)
          last += (t.size(d) - 1) * t.stride(d);
        lo = std::min(lo, t.offset());
        hi = std::max(hi, last + 1);
      }
      const Tensor& first = tensors_[g.members.front()];
      const std::size_t record = add_storage(Tensor(first.storage(), {hi - lo}, {1}, lo, g.dtype));
      for (std::size_t i : g.members) {
        placements_[i] = {record, tensors_[i].offset() - lo, tensors_[i].strides()};
      }
    }
  }

  // --- opcodes -----------------------------------------------------------------------------
  void put() {
    const uint32_t idx = next_memo_++;
    if (idx < 256) {
      out_ += 'q';
      out_ += static_cast<char>(idx);
    } else {
      out_ += 'r';
      append_le(out_, idx);
    }
  }
  void get(uint32_t idx) {
    if (idx < 256) {
      out_ += 'h';
      out_ += static_cast<char>(idx);
    } else {
      out_ += 'j';
      append_le(out_, idx);
    }
  }
  // GLOBAL, memoized like Python's pickler does.
  void global(const std::string& module, const std::string& name) {
    const std::string key = module + "\n" + name + "\n";
    if (const auto it = memo_.find(key); it != memo_.end()) return get(it->second);
    out_ += 'c';
    out_ += key;
    memo_.emplace(key, next_memo_);
    put();
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';
      out_ += static_cast<char>(v);
    } else if (v >= 0 && v < 65536) {
      out_ += 'M';
      append_le(out_, static_cast<uint16_t>(v));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      append_le(out_, static_cast<int32_t>(v));
    } else {
      // LONG1: the shortest little-endian two's complement.
      char b[8];
      const auto u = static_cast<uint64_t>(v);
      for (int k = 0; k < 8; ++k)
        b[k] = static_cast<char>((u >> (8 * k)) & 0xFF);
      int n = 8;
      while (n > 1) {
        const auto last = static_cast<uint8_t>(b[n - 1]);
        const bool sign = static_cast<uint8_t>(b[n - 2]) & 0x80;
        if ((last == 0 && !sign) || (last == 0xFF && sign)) {
          --n;
        } else {
          break;
        }
      }
      out_ += '\x8a';
      out_ += static_cast<char>(n);
      out_.append(b, static_cast<std::size_t>(n));
    }
  }
  void text(std::string_view s, const std::vector<std::string>& path) {
    WICK_CHECK(is_valid_utf8(s), ArgumentError, op_, ": string at ", join(path),
               " is not valid UTF-8, which Python cannot read");
    out_ += 'X';
    append_le(out_, static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  // A constant string, memoized.
  void constant(const std::string& s) {
    if (const auto it = memo_.find(s); it != memo_.end()) return get(it->second);
    text(s, {});
    memo_.emplace(s, next_memo_);
    put();
  }
  // EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3, and TUPLE (after a MARK) for longer ones.
  static constexpr char kTupleOpcodes[] = {')', '\x85', '\x86', '\x87', 't'};
  static char close_tuple(std::size_t size) {
    return kTupleOpcodes[std::min<std::size_t>(size, 4)];
  }

  void int_tuple(const Shape& v) {
    if (v.size() > 3) out_ += '(';
    for (int64_t x : v)
      integer(x);
    out_ += close_tuple(v.size());
  }

  void items(const std::vector<Value>& values, std::vector<std::string>& path) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      path.push_back(std::to_string(i));
      emit(values[i], path);
      path.pop_back();
    }
  }

  void emit(const Value& v, std::vector<std::string>& path) {
    switch (v.kind()) {
      case Value::Kind::None:
        out_ += 'N';
        return;
      case Value::Kind::Bool:
        out_ += v.as_bool() ? '\x88' : '\x89';
        return;
      case Value::Kind::Int:
        return integer(v.as_int());
      case Value::Kind::Float:
        out_ += 'G';
        append_le(out_, __builtin_bswap64(std::bit_cast<uint64_t>(v.as_float())));
        return;
      case Value::Kind::String:
        return text(v.as_string(), path);
      case Value::Kind::Tensor:
        return tensor(next_tensor_++);
      case Value::Kind::List:
        out_ += ']';
        if (!v.list().empty()) {
          out_ += '(';
          items(v.list(), path);
          out_ += 'e';
        }
        return;
      case Value::Kind::Tuple:
        // EMPTY_TUPLE, TUPLE1..3 for short ones, MARK ... TUPLE otherwise.
        if (v.tuple().size() > 3) out_ += '(';
        items(v.tuple(), path);
        out_ += close_tuple(v.tuple().size());
        return;
      case Value::Kind::Dict:
        out_ += '}';
        if (v.dict().size() > 0) {
          out_ += '(';
          for (const auto& [key, item] : v.dict()) {
            path.push_back(key.text());
            if (const std::string* s = key.if_string()) {
              text(*s, path);
            } else {
              integer(key.as_int());
            }
            emit(item, path);
            path.pop_back();
          }
          out_ += 'u';
        }
        return;
    }
  }

  void tensor(std::size_t i) {
    const Tensor& t = tensors_[i];
    const Placement& p = placements_[i];
    // The same view twice (tied weights) is one tensor object in Python too.
    std::string view_key = std::to_string(p.storage) + ":" + std::to_string(p.offset) + ":" +
                           shape_str(t.shape()) + shape_str(p.strides);
    if (const auto it = tensor_memo_.find(view_key); it != tensor_memo_.end()) {
      return get(it->second);
    }
    const PickledStorage& s = storages_[p.storage];
    global("torch._utils", "_rebuild_tensor_v2");
    out_ += '(';
    out_ += '(';
    constant("storage");
    global("torch", storage_class(t.dtype()));
    text(s.key, {});
    constant("cpu");
    integer(s.data.numel());
    out_ += 't';
    out_ += 'Q';  // BINPERSID
    integer(p.offset);
    int_tuple(t.shape());
    int_tuple(p.strides);
    out_ += '\x89';  // requires_grad=False
    global("collections", "OrderedDict");
    out_ += ')';
    out_ += 'R';
    out_ += 't';
    out_ += 'R';
    tensor_memo_.emplace(std::move(view_key), next_memo_);
    put();
  }

  std::vector<PickledStorage>& storages_;
  const std::string& op_;
  std::string out_;
  std::vector<Tensor> tensors_;
  std::vector<Placement> placements_;
  std::size_t next_tensor_ = 0;
  uint32_t next_memo_ = 0;
  std::unordered_map<std::string, uint32_t> memo_;
  std::unordered_map<std::string, uint32_t> tensor_memo_;
};

// Reads `pickle` back as load_pytorch would, with its limits and the storages borrowed from
// `storages`, so that save_pytorch never writes a checkpoint its reader refuses: the reader's
// bounds on objects, items and memory per byte of pickle are the reader's to state, not to be
// restated here. Linear in the pickle, which is small beside the tensors it describes.
void check_readable(const std::string& pickle, const std::vector<PickledStorage>& storages,
                    const std::string& op) {
  WICK_CHECK(pickle.size() <= kMaxPickleBytes, ArgumentError, op, ": the pickle would take ",
             pickle.size(), " bytes; load_pytorch refuses more than ", kMaxPickleBytes);
  std::unordered_map<std::string_view, const Tensor*> by_key;
  for (const PickledStorage& s : storages)
    by_key.emplace(s.key, &s.data);
  const StorageLoader borrow = [&](const std::vector<StorageRef>& refs) {
    std::vector<std::shared_ptr<Storage>> out;
    for (const StorageRef& ref : refs) {
      const Tensor& data = *by_key.at(ref.key);
      auto* bytes = static_cast<std::byte*>(const_cast<void*>(data.raw_data()));
      out.push_back(Storage::borrow(bytes, data.nbytes(), data.storage()));
    }
    return out;
  };
  PickleLimits limits;
  limits.max_bytes = pickle_budget(pickle.size());  // data.pkl is stored, not deflated
  try {
    (void)unpickle_weights(pickle, borrow, op, limits);
  } catch (const FormatError& e) {
    throw ArgumentError(
        wick::detail::cat(op, ": load_pytorch would refuse this checkpoint: ", e.what()));
  }
}

}  // namespace

std::string pickle_weights(const Value& value, std::vector<PickledStorage>& storages,
                           const std::string& op) {
  std::string pickle = Pickler(storages, op).run(value);
  check_readable(pickle, storages, op);
  return pickle;
}

}  // namespace wick::io::detail
