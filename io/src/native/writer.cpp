#include "wick/io/native/writer.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/file.h"
#include "common/tensor_bytes.h"
#include "native/format.h"
#include "native/views.h"
#include "native/worker.h"
#include "wick/core/error.h"
#include "wick/io/native/checksum.h"
#include "wick/io/native/tree_path.h"

namespace wick::io {

using namespace detail;

namespace {
constexpr std::size_t kBufferSize = std::size_t{1} << 20;
// Payloads at least this big skip the buffer and go straight from tensor memory to the sink.
constexpr std::size_t kDirectThreshold = std::size_t{64} << 10;
// Hash-then-write granularity: small enough to stay in L2 between the two passes.
constexpr std::size_t kChunk = std::size_t{256} << 10;
// Contiguous payloads at least this big are hashed on a second core while the writer's thread
// copies them into a file: a buffered write runs at the kernel's page-cache copy speed (about
// 1.5 GB/s here), far below memory bandwidth, so XXH3 (about 28 GB/s) on another core costs the
// save nothing; inline it was 5-7% of a large save. Below 1 MiB the hand-off costs more than the
// hash.
constexpr std::size_t kHashAsideThreshold = std::size_t{1} << 20;
// Each time a file grows by this much, another thread starts writeback of it
// (sync_file_range). Otherwise ext4 starts writeback of the whole temp file inside the rename
// that replaces an existing file (auto_da_alloc): right after another large write, a 256 MiB
// save spent 55-160 ms in rename(). Started as the file grows, that work overlaps the writes.
constexpr uint64_t kWritebackWindow = uint64_t{16} << 20;

// Tensor views already seen, so that one written twice (tied weights) is stored once. Keyed
// by storage address; a weak_ptr tells a live storage from a freed one whose address was reused.
// Keys live in one vector, chained per storage, and their sizes and strides in one shared
// array, so a table of 10,000 tensors costs one hash node per storage and no other allocation.
class ViewTable {
 public:
  const uint32_t* find(const Tensor& t) const {
    auto it = head_.find(t.storage().get());
    for (uint32_t i = it == head_.end() ? kNone : it->second; i != kNone; i = keys_[i].next) {
      const Key& k = keys_[i];
      if (!k.storage.expired() && k.offset == t.offset() && k.dtype == t.dtype() &&
          same_dims(k, t)) {
        return &k.id;
      }
    }
    return nullptr;
  }
  void insert(const Tensor& t, uint32_t id) {
    auto [it, fresh] = head_.try_emplace(t.storage().get(), kNone);
    keys_.push_back(Key{t.storage(), t.offset(), dims_.size(), static_cast<uint32_t>(t.dim()),
                        t.dtype(), id, it->second});
    dims_.insert(dims_.end(), t.shape().begin(), t.shape().end());
    dims_.insert(dims_.end(), t.strides().begin(), t.strides().end());
    it->second = static_cast<uint32_t>(keys_.size() - 1);
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Key {
    std::weak_ptr<Storage> storage;
    int64_t offset;
    std::size_t dims_at;  // sizes, then strides, in dims_
    uint32_t rank;
    DType dtype;
    uint32_t id;
    uint32_t next;  // previous key of the same storage, or kNone
  };
  bool same_dims(const Key& k, const Tensor& t) const {
    if (k.rank != static_cast<uint32_t>(t.dim())) return false;
    const int64_t* d = dims_.data() + k.dims_at;
    return std::equal(t.shape().begin(), t.shape().end(), d) &&
           std::equal(t.strides().begin(), t.strides().end(), d + k.rank);
  }
  std::vector<Key> keys_;
  std::vector<int64_t> dims_;
  std::unordered_map<const Storage*, uint32_t> head_;
};
}  // namespace

class Writer::Impl {
 public:
  Impl(std::unique_ptr<AtomicFile> file, std::unique_ptr<Sink> stream, SaveOptions options)
      : file_(std::move(file)), stream_(std::move(stream)), options_(std::move(options)) {
    sink_ = file_ ? &file_->sink() : stream_.get();
    buf_.reserve(kBufferSize);
    const std::pair<int, int> asked(options_.format_major, options_.format_minor);
    const auto writes = [&](Version v) {
      return asked.first == v.major && asked.second == v.minor;
    };
    const bool writable = (asked.first == 0 && asked.second == 0) || writes(kVersion1) ||
                          writes(kVersion2) || writes(kVersionViews);
    WICK_CHECK(writable, ArgumentError, "save: format ", options_.format_major, ".",
               options_.format_minor,
               ": this writer writes 1.0, 2.0 or 2.1 (or 0.0 for the oldest that holds the value)");
    if (options_.format_major != 0) {
      version_ = Version{static_cast<uint16_t>(asked.first), static_cast<uint16_t>(asked.second)};
    }
    guarded([&] {
      ByteWriter meta;
      encode_metadata(meta, options_.metadata);  // refuse bad metadata before any byte
      const auto header = encode_file_header(version_);
      put(header.data(), header.size());
    });
  }

  void add(const std::string& key, const Value& value) {
    check_usable("Writer::add");
    WICK_CHECK(!root_given_, ArgumentError, "Writer::add: finish(root) was already called");
    check_utf8(key, "the dict key", "");
    check_holdable(value, key);  // before anything is written: the writer stays usable
    WICK_CHECK(added_keys_.insert(key).second, ArgumentError, "Writer::add: duplicate key '", key,
               "'");
    guarded([&] {
      entries_.string(key);
      encode_value(value, entries_, key);
      ++entry_count_;
    });
  }

  void add_tensor(const std::string& key, const Tensor& tensor) {
    check_usable("Writer::add");
    WICK_CHECK(!root_given_, ArgumentError, "Writer::add: finish(root) was already called");
    check_tensor_entry(key, tensor);  // before anything is written: the writer stays usable
    WICK_CHECK(added_keys_.insert(key).second, ArgumentError, "Writer::add: duplicate key '", key,
               "'");
    guarded([&] {
      encode_tensor_entry(entries_, key, tensor);
      ++entry_count_;
    });
  }

  void finish_tensors(const TensorDict& root) {
    check_usable("Writer::finish");
    WICK_CHECK(entry_count_ == 0, ArgumentError,
               "Writer::finish(root): entries were already add()ed; call finish() instead");
    WICK_CHECK(root.size() <= UINT32_MAX, ArgumentError, "save: dict has more than 2^32-1 items");
    for (const auto& [key, t] : root)
      check_utf8(key, "the dict key", "");  // before any record is written
    root_given_ = true;
    guarded([&] {
      if (version_ >= kVersionViews) plan(ViewPlan(root));
      if (options_.progress) {
        PayloadCounter count(plan_);
        for (const auto& [key, t] : root)
          count.add(t);
        total_ = count.total();
      }
      ByteWriter tree;
      tree.u8(static_cast<uint8_t>(Tag::Dict));
      tree.u32(static_cast<uint32_t>(root.size()));
      for (const auto& [key, t] : root)
        encode_tensor_entry(tree, key, t);
      write_index_and_commit(tree);
    });
  }

  void finish_dict() {
    check_usable("Writer::finish");
    ByteWriter tree;
    tree.u8(static_cast<uint8_t>(Tag::Dict));
    tree.u32(entry_count_);
    tree.bytes(entries_.buffer().data(), entries_.size());
    guarded([&] { write_index_and_commit(tree); });
  }

  void finish_root(const Value& root) {
    check_usable("Writer::finish");
    WICK_CHECK(entry_count_ == 0, ArgumentError,
               "Writer::finish(root): entries were already add()ed; call finish() instead");
    check_holdable(root, "");
    root_given_ = true;
    guarded([&] {
      if (version_ >= kVersionViews) plan(ViewPlan(root));
      if (options_.progress) total_ = unique_payload_bytes(root);
      ByteWriter tree;
      encode_value(root, tree, "");
      write_index_and_commit(tree);
    });
  }

  uint64_t bytes_written() const noexcept { return pos_; }

 private:
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      broken_ = true;  // the output is incomplete; an AtomicFile removes it on destruction
      throw;
    }
  }

  void check_usable(const char* op) const {
    WICK_CHECK(!finished_, ArgumentError, op, ": the file is already finished");
    WICK_CHECK(!broken_, IoError, op, ": an earlier error left the output incomplete");
  }

  void flush_buffer() {
    if (!buf_.empty()) sink_->write(buf_.data(), buf_.size());
    buf_.clear();
    start_writeback();
  }

  // Called after writes to the sink: hands what the file holds past the last window to the
  // worker once it is a whole window.
  void start_writeback() {
    if (file_ == nullptr) return;
    const uint64_t in_file = pos_ - buf_.size();
    if (in_file - written_back_ < kWritebackWindow || !Worker::worthwhile()) return;
#if defined(__linux__)
    const auto range = [fd = file_->fd(), from = written_back_, n = in_file - written_back_] {
      // Errors are left to the writes and close() that follow: this only starts I/O early.
      ::sync_file_range(fd, static_cast<off_t>(from), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
    };
    writeback_.post(range);  // only a hint: when no thread can be had, the kernel does it later
    written_back_ = in_file;
#endif
  }

  void put(const void* data, std::size_t n) {
    if (buf_.size() + n > kBufferSize) flush_buffer();
    if (n >= kBufferSize) {
      sink_->write(data, n);
    } else {
      const auto* b = static_cast<const std::byte*>(data);
      buf_.insert(buf_.end(), b, b + n);
    }
    pos_ += n;
  }

  // FORMAT.md "Records": pad64 zero bytes, so the next record starts at a multiple of 64.
  void pad() {
    static constexpr std::byte kZeros[kAlign] = {};
    put(kZeros, pad64(pos_));
  }

  // Contiguous bytes of a payload: buffered when small, else hashed and written chunk by chunk.
  // `h` null: the bytes are hashed elsewhere (hash_aside).
  void emit_bytes(const std::byte* p, std::size_t n, Hasher* h) {
    if (n < kDirectThreshold) {
      if (h != nullptr) h->update(p, n);
      put(p, n);
      return;
    }
    flush_buffer();
    for (std::size_t done = 0; done < n;) {
      const std::size_t c = std::min(kChunk, n - done);
      if (h != nullptr) h->update(p + done, c);
      sink_->write(p + done, c);
      done += c;
      pos_ += c;
      start_writeback();
      payload_done_ += c;
      if (options_.progress) options_.progress(payload_done_, total_);
    }
  }

  // Row-major bytes of any view, copying non-contiguous data through bounded chunks.
  void emit_tensor_bytes(const Tensor& t, Hasher& h) {
    if (t.numel() == 0) return;
    if (t.is_contiguous()) {
      emit_bytes(static_cast<const std::byte*>(t.raw_data()), t.nbytes(), &h);
      return;
    }
    if (t.nbytes() <= kChunk || t.dim() == 0) {
      const Tensor c = t.contiguous();
      emit_bytes(static_cast<const std::byte*>(c.raw_data()), c.nbytes(), &h);
      return;
    }
    const int64_t row_bytes = static_cast<int64_t>(t.nbytes()) / t.size(0);
    const int64_t rows_per_chunk =
        std::max<int64_t>(1, static_cast<int64_t>(kChunk) / std::max<int64_t>(row_bytes, 1));
    for (int64_t r = 0; r < t.size(0); r += rows_per_chunk) {
      const int64_t end = std::min(t.size(0), r + rows_per_chunk);
      emit_tensor_bytes(rows_per_chunk == 1 ? t.select(0, r) : t.slice(0, r, end), h);
    }
  }

  // FORMAT.md "Kind 1: tensor" (and "Writers": a view already written is referenced by id).
  uint32_t write_tensor(const Tensor& t) {
    if (const uint32_t* id = seen_.find(t)) return *id;
    WICK_CHECK(table_.size() < UINT32_MAX, ArgumentError, "save: more than 2^32-1 tensors");
    const auto id = static_cast<uint32_t>(table_.size());
    TensorEntry e;
    e.record_offset = pos_;
    e.payload_size = t.nbytes();
    e.dtype = t.dtype();
    e.shape = t.shape();
    std::array<std::byte, kMaxRecordHeader> header;
    put(header.data(), encode_tensor_header(id, e.dtype, e.shape, e.payload_size, header));
    if (hash_aside(t)) {
      e.checksum = emit_hashed_aside(static_cast<const std::byte*>(t.raw_data()), t.nbytes());
    } else {
      Hasher& h = hasher_;
      h.reset();
      emit_tensor_bytes(t, h);
      if (e.payload_size < kDirectThreshold) {
        payload_done_ += e.payload_size;
        if (options_.progress) options_.progress(payload_done_, total_);
      }
      e.checksum = h.digest();
    }
    pad();
    table_.push_back(std::move(e));
    seen_.insert(t, id);
    return id;
  }

  // Only file writes: an in-memory sink copies at memory bandwidth, which a second hashing core
  // would compete for.
  bool hash_aside(const Tensor& t) const {
    return file_ != nullptr && t.is_contiguous() && t.nbytes() >= kHashAsideThreshold &&
           Worker::worthwhile();
  }

  uint64_t emit_hashed_aside(const std::byte* p, std::size_t n) {
    uint64_t digest = 0;
    if (!hashing_.post([&digest, p, n] { digest = checksum(p, n); })) {
      hasher_.reset();
      emit_bytes(p, n, &hasher_);
      return hasher_.digest();
    }
    {
      const DrainOnExit done(hashing_);  // also when a write throws: the tensor may go next
      emit_bytes(p, n, nullptr);
    }
    return digest;
  }

  // A tensor the readers would refuse is refused before its record is written (and, through
  // add(), before anything is): the writer never writes what its readers refuse.
  static void check_tensor(const Tensor& t, const std::string& path) {
    WICK_CHECK(t.defined(), ArgumentError, "save: the tensor at '", path, "' is undefined");
    check_writable(t, static_cast<std::size_t>(kMaxRank),
                   wick::detail::cat("save: the tensor at '", path, "'"));
  }

  // One dict entry `key` -> tensor, the tensor written now.
  static void check_tensor_entry(const std::string& key, const Tensor& t) {
    if (const std::size_t nul = key.find('\0'); nul != std::string::npos) {
      throw ArgumentError(wick::detail::cat("save: dict key '", key.substr(0, nul),
                                            "\\0...' contains a NUL byte (at byte ", nul, ")"));
    }
    check_utf8(key, "dict key", "");
    check_tensor(t, key);
  }

  // FORMAT.md "Conventions": strings are UTF-8, and readers refuse any other; checked before
  // anything of the value is written (ByteWriter::string() checks again as it writes).
  static void check_utf8(std::string_view s, const char* what, const std::string& path) {
    const std::size_t bad = utf8_error(s);
    WICK_CHECK(bad == std::string_view::npos, ArgumentError, "save: ", what,
               path.empty() ? "" : " at '", path, path.empty() ? "" : "'",
               " is not valid UTF-8 (byte ", bad, " of ", s.size(),
               "); wick files hold UTF-8 strings");
  }

  // FORMAT.md "Values": a dict entry (key, tensor tag, id).
  void encode_tensor_entry(ByteWriter& w, const std::string& key, const Tensor& t) {
    check_tensor_entry(key, t);
    w.string(key);
    encode_tensor(w, t);
  }

  void plan(ViewPlan p) {
    plan_.emplace(std::move(p));
    group_records_.assign(plan_->size(), ViewPlan::kNone);
  }

  // FORMAT.md "Values": tag 6 and the id of the record holding the tensor, or (2.1, FORMAT.md
  // "Writers", views) tag 11 and the id of its view of its group's record, which is written
  // when the group's first member is met.
  void encode_tensor(ByteWriter& w, const Tensor& t) {
    const uint32_t g = plan_ ? plan_->find(t) : ViewPlan::kNone;
    if (g == ViewPlan::kNone) {
      w.u8(static_cast<uint8_t>(Tag::Tensor));
      w.u32(write_tensor(t));
      return;
    }
    const ViewGroup& group = plan_->group(g);
    if (group_records_[g] == ViewPlan::kNone) group_records_[g] = write_tensor(group.record);
    if (is_record_layout(t, group)) {
      w.u8(static_cast<uint8_t>(Tag::Tensor));
      w.u32(group_records_[g]);
      return;
    }
    w.u8(static_cast<uint8_t>(Tag::View));
    w.u32(view_id(t, group, group_records_[g]));
  }

  // FORMAT.md "Kind 2: index", part 4: one row per layout (a view met twice is one row, and so
  // are views that differ only in the strides of size-1 dimensions, which readers refuse as
  // repeats): the table is keyed by the layout, the row keeps the first one's strides.
  uint32_t view_id(const Tensor& t, const ViewGroup& group, uint32_t record) {
    const Tensor layout(t.storage(), t.shape(), layout_strides(t.shape(), t.strides()), t.offset(),
                        t.dtype());
    if (const uint32_t* id = view_ids_.find(layout)) return *id;
    WICK_CHECK(views_.size() < UINT32_MAX, ArgumentError, "save: more than 2^32-1 views");
    const auto id = static_cast<uint32_t>(views_.size());
    views_.push_back(ViewEntry{record, offset_in_record(t, group), t.shape(), t.strides()});
    view_ids_.insert(layout, id);
    return id;
  }

  // Payload bytes a value's tensors add to the file, for the progress total: each record once.
  class PayloadCounter {
   public:
    explicit PayloadCounter(const std::optional<ViewPlan>& plan)
        : plan_(plan), counted_(plan ? plan->size() : 0, false) {}
    void add(const Tensor& t) {
      if (!t.defined()) return;
      const uint32_t g = plan_ ? plan_->find(t) : ViewPlan::kNone;
      if (g != ViewPlan::kNone) {
        if (!counted_[g]) total_ += plan_->group(g).record.nbytes();
        counted_[g] = true;
      } else if (seen_.find(t) == nullptr) {
        seen_.insert(t, 0);
        total_ += t.nbytes();
      }
    }
    uint64_t total() const noexcept { return total_; }

   private:
    const std::optional<ViewPlan>& plan_;
    std::vector<bool> counted_;
    ViewTable seen_;
    uint64_t total_ = 0;
  };

  uint64_t unique_payload_bytes(const Value& root) {
    std::vector<const Value*> todo{&root};
    PayloadCounter count(plan_);
    while (!todo.empty()) {
      const Value* v = todo.back();
      todo.pop_back();
      if (v->is_tensor()) {
        count.add(v->tensor());
      } else if (v->is_list() || v->is_tuple()) {
        for (std::size_t i = 0; i < v->size(); ++i)
          todo.push_back(&(*v)[i]);
      } else if (v->is_dict()) {
        for (const auto& [k, c] : v->dict())
          todo.push_back(&c);
      }
    }
    return count.total();
  }

  // FORMAT.md "Values": the tag of a container. A dict uses tag 10 only when a key is an int,
  // so a dict of strings is encoded as in 1.0.
  static Tag container_tag(const Value& v) {
    if (v.is_tuple()) return Tag::Tuple;
    if (!v.is_dict()) return Tag::List;
    const auto& items = v.dict().items();
    const bool int_key = std::any_of(items.begin(), items.end(),
                                     [](const Dict::Item& item) { return item.first.is_int(); });
    return int_key ? Tag::KeyedDict : Tag::Dict;
  }

  // Pre-order over `root` with an explicit stack (trees nest up to 512 levels) and one path
  // buffer for messages ("opt.state.0"). `open(v, path, depth)` sees every value and returns
  // the tag of a container whose items come next; `on_key(dict_tag, key, path)` runs before
  // each dict item.
  template <class Open, class OnKey>
  static void walk_tree(const Value& root, std::string path, Open&& open, OnKey&& on_key) {
    struct Frame {
      const Value* v;
      Tag tag;
      std::size_t next;
      std::size_t path_end;
    };
    std::vector<Frame> stack;
    const auto visit = [&](const Value& v) {
      if (const std::optional<Tag> tag = open(v, path, stack.size())) {
        stack.push_back(Frame{&v, *tag, 0, path.size()});
      }
    };
    visit(root);
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next == f.v->size()) {
        stack.pop_back();
        continue;
      }
      const std::size_t i = f.next++;
      path.resize(f.path_end);
      if (!path.empty()) path += '.';
      if (is_dict_tag(f.tag)) {
        const auto& [key, child] = f.v->dict().items()[i];
        on_key(f.tag, key, path);
        if (const std::string* text = key.if_string()) {
          path += *text;
        } else {
          path += std::to_string(key.as_int());
        }
        visit(child);
      } else {
        path += std::to_string(i);
        visit((*f.v)[i]);
      }
    }
  }

  // Refuses, before any of `root` is written, a container this file's version cannot hold or a
  // dict of keys a path cannot tell apart: a refused add() leaves the Writer usable.
  void check_holdable(const Value& root, const std::string& root_path) const {
    const auto open = [&](const Value& v, const std::string& path,
                          std::size_t) -> std::optional<Tag> {
      if (v.is_string()) check_utf8(v.as_string(), "the string", path);
      if (!v.is_list() && !v.is_tuple() && !v.is_dict()) return std::nullopt;
      const Tag tag = container_tag(v);
      WICK_CHECK(version_of(tag) <= version_, ArgumentError,
                 "save: ", tag == Tag::Tuple ? "the tuple" : "the dict with int keys", " at '",
                 path, "' needs format 2.0, and this file is 1.0 (SaveOptions::format_major ",
                 options_.format_major == 1 ? "is 1"
                                            : "is 0: save() picks 2.0 by itself, a Writer "
                                              "fed with add() writes 1.0 unless it is 2",
                 ")");
      if (tag == Tag::KeyedDict) refuse_keys_spelled_alike(v.dict(), path);
      return tag;
    };
    walk_tree(root, root_path, open, [](Tag, const Key& key, const std::string& path) {
      if (const std::string* s = key.if_string()) check_utf8(*s, "the dict key", path);
    });
  }

  // FORMAT.md "Values", tag 10: no string key spells an int key of its dict, so that every
  // node has one path. Python allows {0: a, "0": b}; no PyTorch structure holds one.
  static void refuse_keys_spelled_alike(const Dict& dict, const std::string& path) {
    for (const auto& [key, item] : dict) {
      const std::string* s = key.if_string();
      const std::optional<int64_t> i = s != nullptr ? int_key_step(*s) : std::nullopt;
      WICK_CHECK(!i || !dict.contains(*i), ArgumentError, "save: the dict at '", path,
                 "' has both the int key ", *i, " and the string key '", *i,
                 "', which a path cannot tell apart (io/FORMAT.md \"Values\")");
    }
  }

  // FORMAT.md "Values": a dict item's key, a bare string under tag 8, tagged under tag 10.
  static void encode_key(ByteWriter& w, Tag dict_tag, const Key& key, const std::string& path) {
    if (const int64_t* i = key.if_int()) {
      w.u8(static_cast<uint8_t>(Tag::Int));
      w.i64(*i);
      return;
    }
    WICK_CHECK(key.str().find('\0') == std::string::npos, ArgumentError, "save: dict key at '",
               path, "' contains a NUL byte");
    if (dict_tag == Tag::KeyedDict) w.u8(static_cast<uint8_t>(Tag::String));
    w.string(key.str());
  }

  // FORMAT.md "Values", in the order of "Writers": pre-order; tensors are written as they are
  // met. Memory stays linear in depth times key length (walk_tree's one path buffer).
  void encode_value(const Value& root, ByteWriter& w, const std::string& root_path) {
    const auto open = [&](const Value& v, const std::string& path,
                          std::size_t depth) -> std::optional<Tag> {
      if (encode_scalar(w, v)) return std::nullopt;
      if (v.is_tensor()) {
        check_tensor(v.tensor(), path);
        encode_tensor(w, v.tensor());
        return std::nullopt;
      }
      WICK_CHECK(v.size() <= UINT32_MAX, ArgumentError, "save: container at '", path,
                 "' has more than 2^32-1 items");
      WICK_CHECK(depth < static_cast<std::size_t>(kMaxDepth), ArgumentError,
                 "save: value nests deeper than ", kMaxDepth, " levels at '", path, "'");
      const Tag tag = container_tag(v);
      w.u8(static_cast<uint8_t>(tag));
      w.u32(static_cast<uint32_t>(v.size()));
      return tag;
    };
    walk_tree(root, root_path, open, [&](Tag dict_tag, const Key& key, const std::string& path) {
      encode_key(w, dict_tag, key, path);
    });
  }

  // FORMAT.md "Kind 2: index" (metadata, value tree, tensor table), then "Trailer (64 bytes)".
  void write_index_and_commit(const ByteWriter& tree) {
    ByteWriter payload;
    encode_metadata(payload, options_.metadata);
    payload.bytes(tree.buffer().data(), tree.size());
    payload.u32(static_cast<uint32_t>(table_.size()));
    for (const TensorEntry& e : table_)
      encode_table_row(payload, e);
    if (version_ >= kVersionViews) {
      payload.u32(static_cast<uint32_t>(views_.size()));
      for (const ViewEntry& v : views_)
        encode_view_row(payload, v);
    }
    const uint64_t checksum = xxh3(payload.buffer().data(), payload.size());
    const uint64_t index_offset = pos_;
    const auto header = encode_index_header(payload.size(), checksum);
    put(header.data(), header.size());
    put(payload.buffer().data(), payload.size());
    pad();
    Trailer t;
    t.major = version_.major;
    t.minor = version_.minor;
    t.index_offset = index_offset;
    t.file_size = pos_ + kTrailerSize;
    t.index_checksum = checksum;
    const auto trailer = encode_trailer(t);
    put(trailer.data(), trailer.size());
    flush_buffer();
    sink_->flush();
    writeback_.drain();  // its jobs use the descriptor commit() closes
    if (file_) file_->commit(options_.durable);
    finished_ = true;
  }

  std::unique_ptr<AtomicFile> file_;
  std::unique_ptr<Sink> stream_;
  Sink* sink_ = nullptr;
  SaveOptions options_;
  Version version_ = kVersion1;  // 1.0 unless options_ ask for more (save() does when needed)
  std::vector<std::byte> buf_;
  uint64_t pos_ = 0;
  uint64_t payload_done_ = 0;
  uint64_t total_ = 0;
  std::vector<TensorEntry> table_;
  ViewTable seen_;
  // 2.1 with a root given: the tensors stored as one record and views of it.
  std::optional<ViewPlan> plan_;
  std::vector<uint32_t> group_records_;  // record id of each group, once written
  std::vector<ViewEntry> views_;
  ViewTable view_ids_;
  Hasher hasher_;
  // After file_: destroyed first, so their jobs are done before the file is closed. Two
  // threads, so a hash never waits behind a writeback blocked on the disk.
  Worker hashing_;
  Worker writeback_;
  uint64_t written_back_ = 0;  // bytes of the file handed to writeback_
  ByteWriter entries_;
  uint32_t entry_count_ = 0;
  std::unordered_set<std::string> added_keys_;
  bool root_given_ = false;
  bool finished_ = false;
  bool broken_ = false;
};

Writer::Writer(std::ostream& out, SaveOptions options)
    : impl_(std::make_unique<Impl>(nullptr, std::make_unique<OstreamSink>(out),
                                   std::move(options))) {}

Writer::Writer(const std::filesystem::path& path, SaveOptions options)
    : impl_(std::make_unique<Impl>(std::make_unique<AtomicFile>(path), nullptr,
                                   std::move(options))) {}

Writer::~Writer() = default;

void Writer::add(const std::string& key, const Value& value) {
  impl_->add(key, value);
}
void Writer::add(const std::string& key, const Tensor& tensor) {
  impl_->add_tensor(key, tensor);
}
void Writer::finish(const TensorDict& root) {
  impl_->finish_tensors(root);
}
void Writer::finish() {
  impl_->finish_dict();
}
void Writer::finish(const Value& root) {
  impl_->finish_root(root);
}
uint64_t Writer::bytes_written() const noexcept {
  return impl_->bytes_written();
}

}  // namespace wick::io
