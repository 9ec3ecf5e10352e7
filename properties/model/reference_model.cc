// The reference model. Read it next to SEMANTICS-WDF.md (sections 0, 3, 4, 6)
// and notes/kmdf-slice.md; every step cites the section it follows. Objects
// are plain records in a vector (index = creation order, the driver at 0);
// handles in slots are abstract tokens, so NULL, never-issued, stale
// (destroyed) and wrong-type handles are told apart exactly.
#include "model/reference_model.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "wdfsim/ntstatus.h"

namespace wdfsim::model {
namespace {

using program::CallbackEvent;
using program::Op;
using program::OpCode;
using program::OpOutcome;

// ---- The verifier vocabulary (names of core/src/rules.cc) ----
// Only the names are shared: they are the observable output.
struct RuleName {
  const char* name;
  bool bugcheck;  // the report stops the machine
};
constexpr RuleName kInvalidHandle{"InvalidHandle", true};                  // 0x10D/0x5
constexpr RuleName kRequiredParameterNull{"RequiredParameterNull", true};  // 0x10D/0x4
constexpr RuleName kObjectOverDereference{"ObjectOverDereference", true};  // 0x10D/0x7
constexpr RuleName kObjectDeleteNotAllowed{"ObjectDeleteNotAllowed", false};
constexpr RuleName kKmdfIrql{"KmdfIrql", false};
constexpr RuleName kReqDelete{"ReqDelete", false};
constexpr RuleName kDoubleCompletion{"DoubleCompletion", false};
constexpr RuleName kRequestNotOwned{"RequestNotOwned", false};
constexpr RuleName kCompleteWithMemoryReferenced{"CompleteWithMemoryReferenced", true};  // 0x10D/0x3
// A request freed (deleted, never completed) while its embedded memory is
// referenced: the reference would dangle.
constexpr RuleName kRequestFreedWithMemoryReferenced{"RequestFreedWithMemoryReferenced", true};
constexpr RuleName kInformationLengthMismatch{"InformationLengthMismatch", true};        // 0x10D/0x6/0x4
constexpr RuleName kRequestAlreadyCompleted{"RequestAlreadyCompleted", false};
constexpr RuleName kRequestMemoryOverRelease{"RequestMemoryOverRelease", false};
constexpr RuleName kRequestWithoutIrp{"RequestWithoutIrp", true};  // NULL IRP dereference
constexpr RuleName kRequestBufferUnavailable{"RequestBufferUnavailable", false};
constexpr RuleName kReuseInvalid{"ReuseInvalid", false};
constexpr RuleName kCompletionParamsInvalid{"CompletionParamsInvalid", false};
constexpr RuleName kMemoryCopyReadOnly{"MemoryCopyReadOnly", false};
constexpr RuleName kCompleteRequestStatusCheck{"CompleteRequestStatusCheck", true};  // 0xC9/0x6
constexpr RuleName kRequestCompleted{"RequestCompleted", false};
constexpr RuleName kObjectLeak{"ObjectLeak", false};
constexpr RuleName kReferenceLeak{"ReferenceLeak", false};

struct Stop {};  // thrown by a bug-check report

constexpr uint32_t S(NTSTATUS status) { return static_cast<uint32_t>(status); }
bool Success(uint32_t status) { return static_cast<int32_t>(status) >= 0; }

// Request majors, methods, I/O types as the program names them.
enum Major : uint32_t { kRead = 0, kWrite = 1, kIoctl = 2, kInternalIoctl = 3 };
enum Method : uint32_t { kBuffered = 0, kInDirect = 1, kOutDirect = 2, kNeither = 3 };
enum IoTypeArg : uint32_t { kIoBuffered = 0, kIoDirect = 1, kIoNeither = 2 };
enum Irql : uint32_t { kPassive = 0, kApc = 1, kDispatch = 2 };

enum class Kind {
  kDriver,
  kMemory,            // WdfMemoryCreate
  kPreallocated,      // WdfMemoryCreatePreallocated
  kCreatedRequest,    // WdfRequestCreate (REQUEST_ALLOCATED_INTERNAL, no IRP)
  kPresentedRequest,  // queue-presented (REQUEST_ALLOCATED_FROM_IO)
  kEmbeddedMemory,    // a presented request's m_SystemBuffer / m_OutputBuffer
};

bool IsRequest(Kind k) { return k == Kind::kCreatedRequest || k == Kind::kPresentedRequest; }
bool IsMemory(Kind k) { return k == Kind::kMemory || k == Kind::kPreallocated || k == Kind::kEmbeddedMemory; }

struct Obj {
  Kind kind;
  uint32_t id = 0;
  bool alive = true;
  int32_t refs = 1;  // the creation reference (6.1)
  int32_t min_refs = 1;
  int parent = -1;
  std::vector<int> children;
  bool delete_called = false;
  bool disposed = false;
  bool cleanup_ran = false;
  bool has_cleanup = false, has_destroy = false, has_context = false;
  // Memory.
  uint64_t size = 0;
  // Requests (4.1, 4.7).
  bool has_irp = false;
  bool completed = true;  // m_Completed starts TRUE when there is no IRP
  bool driver_owned = false;
  bool can_complete = false;
  bool completed_by_driver = false;
  uint32_t irp_status = 0;
  uint64_t irp_info = 0;
  int32_t irp_refs = 0;
  int32_t min_irp_refs = 0;
  int presented = -1;
  uint32_t major = 0, length = 0, method = 0, in_len = 0, out_len = 0, io_type = 0;
  int system_memory = -1, output_memory = -1;
  // Embedded memory.
  int owner = -1;
  bool output = false;  // m_OutputBuffer (ioctl output) rather than m_SystemBuffer
};

// Slot tokens.
constexpr int kNullToken = -1;
constexpr int kNeverIssuedToken = -2;

class Model {
 public:
  explicit Model(const PredictOptions& options) : options_(options) {
    Obj driver{Kind::kDriver};
    objs_.push_back(driver);
    slots_.fill(kNullToken);
  }

  Prediction Run(const program::Program& program) {
    Prediction p;
    p.outcome.ops.resize(program.ops.size());
    bool stopped = false;
    for (size_t i = 0; i < program.ops.size() && !stopped; ++i) {
      OpOutcome& out = p.outcome.ops[i];
      out.executed = true;
      cur_ = &out;
      try {
        Execute(program.ops[i], out);
      } catch (const Stop&) {
        out.bugcheck = true;
        stopped = true;
      }
      if (unloaded_) stopped = true;
    }
    for (const Obj& o : objs_) {  // as the program left them, before teardown
      if (o.kind == Kind::kEmbeddedMemory) continue;
      p.objects.push_back({o.id, o.alive, o.refs, o.irp_refs, o.min_refs, o.min_irp_refs});
    }
    if (!stopped) {
      p.outcome.teardown.executed = true;
      cur_ = &p.outcome.teardown;
      try {
        Unload();
      } catch (const Stop&) {
        p.outcome.teardown.bugcheck = true;
      }
    }
    cur_ = nullptr;
    p.outcome.presented = presented_;
    p.reached = reached_;
    p.hazards = hazards_;
    return p;
  }

 private:
  // ---- Reports and callbacks ----
  void Report(const RuleName& rule) {
    cur_->rules.emplace_back(rule.name);
    if (rule.bugcheck) throw Stop{};
  }
  void Callback(CallbackEvent::Kind kind, const Obj& o) { cur_->callbacks.push_back({kind, o.id}); }
  bool Follow(Deviation d) {
    reached_ |= d;
    return (options_.follow_core & d) != 0;
  }

  // ---- Handles (0: FxObjectHandleGetPtr; DESIGN.md memory realism) ----
  // As the interpreter reads a handle argument.
  int Token(uint32_t ref) const {
    if (ref < program::kSlots) return slots_[ref];
    if (ref == program::kDriverHandle) return 0;
    if (ref == program::kBogusHandle) return kNeverIssuedToken;
    return kNullToken;
  }
  bool Live(int token) const {
    if (token < 0) return false;
    const Obj& o = objs_[token];
    if (o.kind == Kind::kEmbeddedMemory) return objs_[o.owner].alive;  // lives inside its request
    return o.alive;
  }
  // NULL, never issued, stale or of a type not accepted: WDF_INVALID_HANDLE.
  template <typename Accept>
  int Resolve(uint32_t ref, Accept accept) {
    const int token = Token(ref);
    if (!Live(token) || !accept(objs_[token].kind)) Report(kInvalidHandle);
    return token;
  }
  int ResolveAny(uint32_t ref) {
    return Resolve(ref, [](Kind) { return true; });
  }
  int ResolveRequest(uint32_t ref) { return Resolve(ref, IsRequest); }
  int ResolveMemory(uint32_t ref) { return Resolve(ref, IsMemory); }
  // FxPointerNotNull on a handle parameter (WdfObjectReference/Dereference,
  // WdfObjectGetTypedContextWorker: 6.1, kmdf-slice 6).
  void RequireHandleNotNull(uint32_t ref) {
    if (Token(ref) == kNullToken) Report(kRequiredParameterNull);
  }

  // ---- Object life cycle (6.1, 6.2) ----
  void RunCleanup(Obj& o) {
    if (o.cleanup_ran) return;
    o.cleanup_ran = true;
    if (o.has_cleanup) Callback(CallbackEvent::Kind::kCleanup, o);
  }
  void EarlyDispose(int i) {
    Obj& o = objs_[i];
    if (o.disposed) return;
    o.disposed = true;
    RunCleanup(o);
  }
  // DisposeChildrenWorker: every child's cleanup returns before its parent's.
  void DisposeTree(int i) {
    const std::vector<int> snapshot = objs_[i].children;
    for (int c : snapshot) {
      const auto& now = objs_[i].children;
      if (std::find(now.begin(), now.end(), c) != now.end()) DisposeTree(c);
    }
    EarlyDispose(i);
  }
  // DestroyChildren: each child's creation reference goes (ParentDeleteEvent).
  void DestroyChildren(int i) {
    while (!objs_[i].children.empty()) {
      const int c = objs_[i].children.front();
      objs_[i].children.erase(objs_[i].children.begin());
      objs_[c].parent = -1;
      DeleteTree(c);
    }
  }
  // FxObject::DeleteObject: mark, detach, dispose, destroy children, release
  // the creation reference.
  void DeleteTree(int i) {
    objs_[i].delete_called = true;
    if (const int p = objs_[i].parent; p >= 0) {
      auto& siblings = objs_[p].children;
      siblings.erase(std::find(siblings.begin(), siblings.end(), i));
      objs_[i].parent = -1;
    }
    DisposeTree(i);
    DestroyChildren(i);
    Release(i);
  }
  void Release(int i) {
    Obj& o = objs_[i];
    --o.refs;
    o.min_refs = std::min(o.min_refs, o.refs);
    if (o.refs == 0) FinalRelease(i);
  }
  // Release reaching 0: ~FxObject's check, then ProcessDestroy (cleanup if it
  // has not run, destroy callback, free).
  void FinalRelease(int i) {
    Obj& o = objs_[i];
    if (o.kind == Kind::kPresentedRequest && o.irp_refs > 0) Report(kRequestFreedWithMemoryReferenced);
    // 6.1: 0x7 when the object still has a parent or children (its parent
    // owns the creation reference, disposed or not); ~FxDriver bug-checks
    // whenever it was not disposed.
    const bool documented =
        o.parent >= 0 || !o.children.empty() || (o.kind == Kind::kDriver && !o.disposed);
    if (documented || (!o.disposed && Follow(kDevOverDereferenceUnparented))) Report(kObjectOverDereference);
    RunCleanup(o);
    if (o.has_destroy) Callback(CallbackEvent::Kind::kDestroy, o);
    o.alive = false;
  }

  // ---- Attributes and parents (kmdf-slice 6; 3.6, 4.1, 6.2) ----
  struct Attrs {
    bool none = false;
    uint32_t status = S(STATUS_SUCCESS);
    bool cleanup = false, destroy = false, context = false;
  };
  static Attrs Validate(uint32_t bits) {
    Attrs a;
    if (bits & program::kAttrNone) {
      a.none = true;
      return a;
    }
    if (bits & program::kAttrBadSize) {  // Size != sizeof: first check
      a.status = S(STATUS_INFO_LENGTH_MISMATCH);
    } else if (bits & program::kAttrZeroed) {  // ExecutionLevel/SynchronizationScope Invalid (0)
      a.status = S(STATUS_WDF_OBJECT_ATTRIBUTES_INVALID);
    }
    a.cleanup = bits & program::kAttrCleanup;
    a.destroy = bits & program::kAttrDestroy;
    a.context = bits & program::kAttrContext;
    return a;
  }
  // The parent an object is committed to, or -1 with *status set.
  // `token` is the handle as the attributes held it when the DDI was called
  // (before the DDI wrote NULL to the out slot).
  int ResolveParent(const Attrs& attrs, int token, uint32_t* status) {
    int parent = 0;  // the default parent is WDFDRIVER
    if (!attrs.none && token != kNullToken) {
      if (!Live(token)) Report(kInvalidHandle);
      parent = token;
      if (objs_[parent].kind == Kind::kEmbeddedMemory) parent = objs_[parent].owner;
    }
    const Obj& p = objs_[parent];
    if (p.delete_called || p.disposed) {
      *status = S(STATUS_DELETE_PENDING);
      return -1;
    }
    return parent;
  }
  int NewObject(Kind kind, const Attrs& attrs, int parent) {
    Obj o{kind};
    o.id = ++next_id_;
    o.has_cleanup = attrs.cleanup;
    o.has_destroy = attrs.destroy;
    o.has_context = attrs.context;
    o.parent = parent;
    objs_.push_back(o);
    const int i = static_cast<int>(objs_.size()) - 1;
    if (parent >= 0) objs_[parent].children.push_back(i);
    return i;
  }

  // ---- Embedded memory (kmdf-slice 1.7) ----
  uint64_t EmbeddedSize(const Obj& m) const {
    const Obj& r = objs_[m.owner];
    if (m.output) return r.out_len;
    return (r.major == kRead || r.major == kWrite) ? r.length : r.in_len;
  }
  bool EmbeddedReadOnly(const Obj& m) const {
    const Obj& r = objs_[m.owner];
    const bool ioctl = r.major == kIoctl || r.major == kInternalIoctl;
    if (m.output) return ioctl && r.method == kInDirect;
    if (r.major == kWrite) return true;
    return ioctl && (r.method == kInDirect || r.method == kOutDirect);
  }
  // The buffer's size, reading the owning request's IRP for embedded memory.
  uint64_t MemorySize(int i) {
    const Obj& m = objs_[i];
    if (m.kind != Kind::kEmbeddedMemory) return m.size;
    if (!objs_[m.owner].has_irp && !Follow(kDevEmbeddedMemoryWithoutIrp)) Report(kRequestWithoutIrp);
    return EmbeddedSize(m);
  }
  bool MemoryReadOnly(int i) {
    const Obj& m = objs_[i];
    if (m.kind != Kind::kEmbeddedMemory) return false;
    if (!objs_[m.owner].has_irp && !Follow(kDevEmbeddedMemoryWithoutIrp)) Report(kRequestWithoutIrp);
    return EmbeddedReadOnly(m);
  }
  int Embedded(int request, bool output) {
    const int existing = output ? objs_[request].output_memory : objs_[request].system_memory;
    if (existing >= 0) return existing;
    Obj m{Kind::kEmbeddedMemory};
    m.owner = request;
    m.output = output;
    objs_.push_back(m);  // may reallocate: no reference into objs_ is held across it
    const int index = static_cast<int>(objs_.size()) - 1;
    (output ? objs_[request].output_memory : objs_[request].system_memory) = index;
    return index;
  }

  // ---- Requests (4.6, 4.7, 4.8; kmdf-slice 1, 3) ----
  // FxRequest::GetMemoryObject / GetDeviceControlOutputMemoryObject.
  uint32_t GetMemoryObject(int ri, bool output_ioctl, int* memory) {
    const Obj& r = objs_[ri];
    if (r.completed) {  // VerifyRequestIsNotCompleted
      Report(kRequestAlreadyCompleted);
      return S(STATUS_INTERNAL_ERROR);
    }
    const bool ioctl = r.major == kIoctl || r.major == kInternalIoctl;
    // Every presented request is from a user-mode requestor: METHOD_NEITHER is
    // allowed for internal ioctls only.
    const bool neither_allowed = r.major == kInternalIoctl;
    if (output_ioctl) {
      if (r.out_len == 0) return S(STATUS_BUFFER_TOO_SMALL);
      if (r.method == kNeither && !neither_allowed) return S(STATUS_INVALID_DEVICE_REQUEST);
      *memory = Embedded(ri, true);
      return S(STATUS_SUCCESS);
    }
    uint32_t status = S(STATUS_SUCCESS);
    if ((r.major == kRead || r.major == kWrite) && r.io_type == kIoNeither) {
      Report(kRequestBufferUnavailable);  // falls through with this status
      status = S(STATUS_INVALID_DEVICE_REQUEST);
    }
    uint64_t length;
    if (ioctl) {
      if (r.in_len == 0) return S(STATUS_BUFFER_TOO_SMALL);
      if (r.method == kNeither && !neither_allowed) return S(STATUS_INVALID_DEVICE_REQUEST);
      length = r.in_len;
    } else {
      length = r.length;
    }
    if (length == 0) return S(STATUS_BUFFER_TOO_SMALL);
    if (!Success(status)) return status;
    // A non-zero direct-I/O length always comes with a mapped MDL.
    *memory = Embedded(ri, false);
    return S(STATUS_SUCCESS);
  }
  // The Retrieve DDIs' common part: the IRP's major (NULL IRP: crash), the
  // READ/WRITE gate, the worker.
  uint32_t Retrieve(int ri, bool output, int* memory) {
    const Obj& r = objs_[ri];
    if (!r.has_irp) Report(kRequestWithoutIrp);
    if (!output && r.major == kRead) return S(STATUS_INVALID_DEVICE_REQUEST);
    if (output && r.major == kWrite) return S(STATUS_INVALID_DEVICE_REQUEST);
    const bool ioctl = r.major == kIoctl || r.major == kInternalIoctl;
    return GetMemoryObject(ri, output && ioctl, memory);
  }

  static uint32_t Remap(uint32_t status) {
    if ((status & 0x0FFF0000u) != 0x00200000u) return status;
    if (status == S(STATUS_WDF_PAUSED) || status == S(STATUS_WDF_BUSY)) return S(STATUS_DEVICE_BUSY);
    if (status == S(STATUS_WDF_INTERNAL_ERROR)) return S(STATUS_INTERNAL_ERROR);
    // SEMANTICS-WDF 4.7's table (kmdf-slice 3 differs: see DISAGREEMENTS.md).
    if (status == S(STATUS_WDF_NOT_ENOUGH_MAP_REGISTERS)) return S(STATUS_INSUFFICIENT_RESOURCES);
    return S(STATUS_INVALID_DEVICE_REQUEST);
  }

  void Complete(uint32_t ref, uint32_t status, const uint64_t* information) {
    const int ri = ResolveRequest(ref);
    Obj& r = objs_[ri];
    // VerifyRequestComplete (verifier on): failures return without completing.
    if (!r.driver_owned) {
      if (r.kind == Kind::kCreatedRequest) {
        Report(kReqDelete);
      } else if (r.completed_by_driver) {
        Report(kDoubleCompletion);
      } else {
        Report(kRequestNotOwned);
      }
      return;
    }
    if (!r.has_irp) {
      Report(kRequestNotOwned);
      return;
    }
    if (!r.can_complete) {
      Report(kReqDelete);
      return;
    }
    if (information != nullptr) r.irp_info = *information;
    CompleteInternal(ri, status);
  }

  void CompleteInternal(int ri, uint32_t status) {
    {
      Obj& r = objs_[ri];
      if (r.completed) Report(kRequestAlreadyCompleted);
      if (Success(status) && r.has_irp) {
        bool checked = true;
        uint64_t length = 0;
        if (r.major == kRead || r.major == kWrite) {
          length = r.length;
        } else if (r.major == kIoctl && r.out_len > 0) {  // user-mode DEVICE_CONTROL
          length = r.out_len;
        } else {
          checked = false;
        }
        if (checked && r.irp_info > length) Report(kInformationLengthMismatch);
      }
      r.completed = true;
      r.completed_by_driver = true;
    }
    const uint32_t final_status = Remap(status);
    // FROM_IO: EarlyDispose (cleanup now), DestroyChildren.
    DisposeTree(ri);
    DestroyChildren(ri);
    Obj& r = objs_[ri];
    if (r.irp_refs != 0) Report(kCompleteWithMemoryReferenced);
    r.irp_status = final_status;
    // IoCompleteRequest (SEMANTICS-WDM: CompleteRequestStatusCheck).
    if (final_status == S(STATUS_PENDING) || final_status == 0xFFFFFFFFu) Report(kCompleteRequestStatusCheck);
    program::PresentedOutcome& po = presented_[r.presented];
    po.completions++;
    po.status = final_status;
    po.information = r.irp_info;
    const uint64_t originator_buffer =
        (r.major == kRead || r.major == kWrite) ? r.length : std::max(r.in_len, r.out_len);
    if ((final_status >> 30) != 3 && r.irp_info > originator_buffer) hazards_ |= kHazardInformationBeyondBuffer;
    r.has_irp = false;
    r.driver_owned = false;
    // PostProcessCompletion: DeleteEarlyDisposedObject.
    r.delete_called = true;
    Release(ri);
  }

  uint32_t Reuse(const Op& op) {
    const int ri = ResolveRequest(op.arg("req"));
    if (op.arg("bad_size")) return S(STATUS_INVALID_PARAMETER);
    const uint32_t flags = op.arg("flags");
    if (flags & ~0x3u) return S(STATUS_INVALID_PARAMETER);  // SET_NEW_IRP | MUST_COMPLETE (>= 1.11)
    Obj& r = objs_[ri];
    if (r.kind == Kind::kPresentedRequest) {
      if (flags & 0x1) return S(STATUS_WDF_REQUEST_INVALID_STATE);
      if (!r.has_irp) Report(kRequestWithoutIrp);
      r.irp_status = op.arg("status");
      r.completed = false;
      return S(STATUS_SUCCESS);
    }
    if (flags & 0x2) {  // MUST_COMPLETE needs an IRP
      Report(kReuseInvalid);
      return S(STATUS_INVALID_PARAMETER);
    }
    if (flags & 0x1) Report(kRequiredParameterNull);  // SET_NEW_IRP with NewIrp NULL
    r.can_complete = false;
    r.completed = !r.has_irp;
    r.driver_owned = false;
    return S(STATUS_SUCCESS);
  }

  // ---- Unload (6.3; teardown.cc's report order) ----
  void Unload() {
    std::vector<int> reported;
    for (size_t i = 0; i < presented_.size(); ++i) {
      if (presented_[i].completions > 0) continue;
      Report(kRequestCompleted);
      reported.push_back(presented_objs_[i]);
    }
    for (int c : objs_[0].children) {
      Report(kObjectLeak);
      reported.push_back(c);
    }
    DeleteTree(0);
    for (size_t i = 0; i < objs_.size(); ++i) {
      const Obj& o = objs_[i];
      if (!o.alive || o.kind == Kind::kEmbeddedMemory) continue;
      if (std::find(reported.begin(), reported.end(), static_cast<int>(i)) != reported.end()) continue;
      Report(kReferenceLeak);
    }
    unloaded_ = true;
  }

  // ---- One op ----
  void Execute(const Op& op, OpOutcome& out) {
    auto a = [&op](const char* name) {
      const uint32_t v = op.arg(name);
      return std::string_view(name) == "dst" ? v % program::kSlots : v;
    };
    switch (op.code) {
      case OpCode::kMemoryCreate: {  // 3.6
        const int parent = Token(a("parent"));
        const bool paged = a("paged");
        if (irql_ > (paged ? kApc : kDispatch)) {
          Report(kKmdfIrql);
          out.status = S(STATUS_INVALID_DEVICE_REQUEST);
          break;
        }
        if (a("size") == 0) {
          out.status = S(STATUS_INVALID_PARAMETER);
          break;
        }
        slots_[a("dst")] = kNullToken;  // *Memory = NULL
        out.status = CreateMemory(Kind::kMemory, op, parent);
        break;
      }
      case OpCode::kMemoryCreatePreallocated: {  // 3.6
        const int parent = Token(a("parent"));
        slots_[a("dst")] = kNullToken;  // *PMemory = NULL
        if (a("size") == 0) {
          out.status = S(STATUS_INVALID_PARAMETER);
          break;
        }
        out.status = CreateMemory(Kind::kPreallocated, op, parent);
        break;
      }
      case OpCode::kMemoryAssignBuffer: {  // kmdf-slice 2
        const int m = Resolve(a("mem"), [](Kind k) { return k == Kind::kPreallocated; });
        (void)m;
        if (a("size") == 0) {
          out.status = S(STATUS_INVALID_PARAMETER);
          break;
        }
        objs_[m].size = a("size");
        out.status = S(STATUS_SUCCESS);
        break;
      }
      case OpCode::kMemoryGetBuffer: {
        const int m = ResolveMemory(a("mem"));
        out.value = MemorySize(m);
        break;
      }
      case OpCode::kMemoryCopyToBuffer: {  // kmdf-slice 2, _CopyPtrToPtr
        const int m = ResolveMemory(a("mem"));
        const uint64_t count = a("count"), offset = a("offset");
        if (count == 0) {
          out.status = S(STATUS_INVALID_PARAMETER);
          break;
        }
        const uint64_t size = MemorySize(m);
        if (offset != 0 && offset >= size) {
          out.status = S(STATUS_BUFFER_TOO_SMALL);
        } else if (count > size - offset) {
          out.status = S(STATUS_BUFFER_TOO_SMALL);
        } else {
          out.status = S(STATUS_SUCCESS);
        }
        break;
      }
      case OpCode::kMemoryCopyFromBuffer: {
        const int m = ResolveMemory(a("mem"));
        const uint64_t count = a("count"), offset = a("offset");
        if (count == 0) {
          out.status = S(STATUS_INVALID_PARAMETER);
          break;
        }
        if (MemoryReadOnly(m)) {
          Report(kMemoryCopyReadOnly);
          out.status = S(STATUS_ACCESS_VIOLATION);
          break;
        }
        const uint64_t size = MemorySize(m);
        if (offset != 0 && offset >= size) {
          out.status = S(STATUS_INVALID_BUFFER_SIZE);
        } else if (count > size - offset) {
          out.status = S(STATUS_INVALID_BUFFER_SIZE);
        } else {
          out.status = S(STATUS_SUCCESS);
        }
        break;
      }
      case OpCode::kObjectReference: {  // 6.1; kmdf-slice 4
        RequireHandleNotNull(a("obj"));
        const int i = ResolveAny(a("obj"));
        Obj& o = objs_[i];
        if (o.kind == Kind::kEmbeddedMemory) {  // AddRefOverride -> AddIrpReference
          Obj& r = objs_[o.owner];
          if (r.completed) Report(kRequestAlreadyCompleted);
          ++r.irp_refs;
        } else {
          ++o.refs;
        }
        break;
      }
      case OpCode::kObjectDereference: {
        RequireHandleNotNull(a("obj"));
        const int i = ResolveAny(a("obj"));
        Obj& o = objs_[i];
        if (o.kind == Kind::kEmbeddedMemory) {  // ReleaseOverride -> ReleaseIrpReference
          Obj& r = objs_[o.owner];
          --r.irp_refs;
          r.min_irp_refs = std::min(r.min_irp_refs, r.irp_refs);
          if (r.irp_refs < 0) Report(kRequestMemoryOverRelease);
        } else {
          Release(i);
        }
        break;
      }
      case OpCode::kObjectDelete: {  // 6.1, 4.10; kmdf-slice 4, 5
        int i = ResolveAny(a("obj"));
        if (objs_[i].kind == Kind::kEmbeddedMemory) i = objs_[i].owner;  // QI(FX_TYPE_OBJECT) is the request
        Obj& o = objs_[i];
        if (o.kind == Kind::kPresentedRequest && !o.delete_called && !o.disposed) Report(kReqDelete);
        if (o.kind == Kind::kDriver) {
          Report(kObjectDeleteNotAllowed);  // NoDeleteDDI
          break;
        }
        if (o.delete_called) break;  // a second delete is dropped
        DeleteTree(i);
        break;
      }
      case OpCode::kObjectGetContext: {  // kmdf-slice 6
        RequireHandleNotNull(a("obj"));
        int i = ResolveAny(a("obj"));
        if (objs_[i].kind == Kind::kEmbeddedMemory) i = objs_[i].owner;
        out.value = objs_[i].has_context ? 1 : 0;
        break;
      }
      case OpCode::kRequestCreate: {  // 4.1
        const Attrs attrs = Validate(a("attrs"));
        if (attrs.status != S(STATUS_SUCCESS)) {
          out.status = attrs.status;
          break;
        }
        uint32_t status = S(STATUS_SUCCESS);
        const int parent = ResolveParent(attrs, Token(a("parent")), &status);
        if (parent < 0) {
          out.status = status;
          break;
        }
        slots_[a("dst")] = NewObject(Kind::kCreatedRequest, attrs, parent);
        out.status = S(STATUS_SUCCESS);
        break;
      }
      case OpCode::kRequestReuse: out.status = Reuse(op); break;
      case OpCode::kRequestComplete:
      case OpCode::kRequestCompleteWithPriorityBoost: Complete(a("req"), a("status"), nullptr); break;
      case OpCode::kRequestCompleteWithInformation: {
        const uint64_t information = a("information");
        Complete(a("req"), a("status"), &information);
        break;
      }
      case OpCode::kRequestGetStatus: {  // 4.8
        const Obj& r = objs_[ResolveRequest(a("req"))];
        if (!r.has_irp) Report(kRequestWithoutIrp);
        out.value = r.irp_status;
        break;
      }
      case OpCode::kRequestGetInformation: {
        const Obj& r = objs_[ResolveRequest(a("req"))];
        if (r.completed) {
          Report(kRequestAlreadyCompleted);
          out.value = 0;
          break;
        }
        if (!r.has_irp) Report(kRequestWithoutIrp);
        out.value = r.irp_info;
        break;
      }
      case OpCode::kRequestSetInformation: {
        Obj& r = objs_[ResolveRequest(a("req"))];
        if (r.completed) {
          Report(kRequestAlreadyCompleted);
          break;
        }
        if (!r.has_irp) Report(kRequestWithoutIrp);
        r.irp_info = a("information");
        break;
      }
      case OpCode::kRequestGetCompletionParams:  // kmdf-slice 3
        ResolveRequest(a("req"));
        Report(kCompletionParamsInvalid);  // wrong Size, or never formatted (no context)
        out.value = a("bad_size") ? 0x100u /* untouched: WdfRequestTypeMax */ : 0xFFu /* NoFormat */;
        break;
      case OpCode::kRequestSetCompletionRoutine: ResolveRequest(a("req")); break;
      case OpCode::kRequestRetrieveInputMemory:
      case OpCode::kRequestRetrieveOutputMemory: {  // kmdf-slice 1.2
        const int ri = ResolveRequest(a("req"));
        int memory = -1;
        out.status = Retrieve(ri, op.code == OpCode::kRequestRetrieveOutputMemory, &memory);
        if (Success(*out.status)) slots_[a("dst")] = memory;  // written only on success
        break;
      }
      case OpCode::kRequestRetrieveInputBuffer:
      case OpCode::kRequestRetrieveOutputBuffer: {  // kmdf-slice 1.1
        const int ri = ResolveRequest(a("req"));
        int memory = -1;
        uint32_t status = Retrieve(ri, op.code == OpCode::kRequestRetrieveOutputBuffer, &memory);
        uint64_t size = 0;
        if (Success(status)) {
          size = EmbeddedSize(objs_[memory]);
          if (size < a("min_length")) status = S(STATUS_BUFFER_TOO_SMALL);
        }
        out.status = status;
        if (Success(status)) out.value = size;
        break;
      }
      case OpCode::kPresent: {
        Obj r{Kind::kPresentedRequest};
        r.id = ++next_id_;
        r.has_irp = true;
        r.completed = false;
        r.driver_owned = true;
        r.can_complete = true;
        r.major = a("major");
        r.length = a("length");
        r.method = a("method");
        r.in_len = a("input_length");
        r.out_len = a("output_length");
        r.io_type = a("io_type");
        r.presented = static_cast<int>(presented_.size());
        objs_.push_back(r);
        const int i = static_cast<int>(objs_.size()) - 1;
        presented_.emplace_back();
        presented_objs_.push_back(i);
        slots_[a("dst")] = i;
        break;
      }
      case OpCode::kSetIrql: irql_ = a("irql"); break;
      case OpCode::kAdvanceTime:
      case OpCode::kRunReadyWork: break;  // only the completion APC runs: nothing an op observes
      case OpCode::kUnload: Unload(); break;
      case OpCode::kCount: break;
      default: break;  // sending ops are outside the lifecycle slice this model covers
    }
  }

  uint32_t CreateMemory(Kind kind, const Op& op, int parent_token) {
    const Attrs attrs = Validate(op.arg("attrs"));
    if (attrs.status != S(STATUS_SUCCESS)) return attrs.status;
    uint32_t status = S(STATUS_SUCCESS);
    const int parent = ResolveParent(attrs, parent_token, &status);
    if (parent < 0) return status;
    const int i = NewObject(kind, attrs, parent);
    objs_[i].size = op.arg("size");
    slots_[op.arg("dst") % program::kSlots] = i;
    return S(STATUS_SUCCESS);
  }

  PredictOptions options_;
  std::vector<Obj> objs_;
  std::array<int, program::kSlots> slots_;
  std::vector<program::PresentedOutcome> presented_;
  std::vector<int> presented_objs_;
  uint32_t next_id_ = 0;
  uint32_t irql_ = kPassive;
  bool unloaded_ = false;
  uint32_t reached_ = 0;
  uint32_t hazards_ = 0;
  OpOutcome* cur_ = nullptr;
};

}  // namespace

Prediction PredictDetailed(const program::Program& program, const PredictOptions& options) {
  return Model(options).Run(program);
}

program::RunOutcome Predict(const program::Program& program) { return PredictDetailed(program).outcome; }

}  // namespace wdfsim::model
