// The reference model. Read it next to SEMANTICS-WDF.md (sections 0, 3, 4, 6)
// and notes/kmdf-slice.md; every step cites the section it follows. Objects
// are plain records in a vector (index = creation order, the driver at 0);
// handles in slots are abstract tokens, so NULL, never-issued, stale
// (destroyed) and wrong-type handles are told apart exactly.
#include "model/reference_model.h"

#include <algorithm>
#include <array>
#include <cstdlib>
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
constexpr RuleName kInformationLengthMismatch{"InformationLengthMismatch", true};  // 0x10D/0x6/0x4
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
// Sending (SEMANTICS-WDF 1, 2, 4.3-4.10).
constexpr RuleName kRequestAlreadySent{"RequestAlreadySent", true};  // 0x10D/0x6/0x3
constexpr RuleName kRequestFormattedValid{"RequestFormattedValid", false};
constexpr RuleName kReqCompletionRoutine{"ReqCompletionRoutine", false};
constexpr RuleName kSendOptionsInvalid{"SendOptionsInvalid", false};
constexpr RuleName kSendAndForgetMisuse{"SendAndForgetMisuse", false};
constexpr RuleName kSyncReqSend{"SyncReqSend", false};  // lint
constexpr RuleName kDeleteWhileSent{"DeleteWhileSent", false};
constexpr RuleName kReuseWhileSent{"ReuseWhileSent", false};
constexpr RuleName kCompleteWhileSent{"CompleteWhileSent", false};
constexpr RuleName kFormatWhileSent{"FormatWhileSent", true};
constexpr RuleName kLiveness{"Liveness", true};
constexpr RuleName kReferenceLeak{"ReferenceLeak", false};

struct Stop {};  // thrown by a bug-check report

constexpr uint32_t S(NTSTATUS status) { return static_cast<uint32_t>(status); }
bool Success(uint32_t status) { return static_cast<int32_t>(status) >= 0; }

// Request majors, methods, I/O types as the program names them.
enum Major : uint32_t { kRead = 0, kWrite = 1, kIoctl = 2, kInternalIoctl = 3 };
enum Method : uint32_t { kBuffered = 0, kInDirect = 1, kOutDirect = 2, kNeither = 3 };
enum IoTypeArg : uint32_t { kIoBuffered = 0, kIoDirect = 1, kIoNeither = 2 };
enum Irql : uint32_t { kPassive = 0, kApc = 1, kDispatch = 2 };

// Sending vocabulary (wdfrequest.h, wdfiotarget.h).
enum SendFlag : uint32_t {
  kTimeoutFlag = 0x1,
  kSynchronousFlag = 0x2,
  kIgnoreTargetStateFlag = 0x4,
  kSendAndForgetFlag = 0x8,
  kUserModeOnlyFlag = 0x10,  // the interpreter's IMPERSONATE_CLIENT: outside the KM mask
};
enum TargetState : uint32_t { kStarted = 1, kStopped = 2, kClosed = 4, kDeleted = 5, kPurged = 6 };
// Closed or deleted: ClearTargetPointers has left no stack size (1.2 step 7).
bool Gone(uint32_t state) { return state == kClosed || state == kDeleted; }
enum Answer : uint32_t { kFromChoices = 0, kInline = 1, kPend = 2, kForever = 3 };
enum OnCancel : uint32_t { kCancelCancelled = 0, kCancelIgnore = 1, kCancelNormal = 2 };
enum RequestType : uint32_t {
  kTypeRead = 0x3,
  kTypeWrite = 0x4,
  kTypeDeviceControl = 0xE,
  kTypeDeviceControlInternal = 0xF,
  kTypeNoFormat = 0xFF,
};
enum class Flight { kIdle, kSent, kPended };  // kPended: in a stopped target's queue
constexpr int64_t kNever = INT64_MAX;
constexpr int64_t kTicksPerMs = 10000;
constexpr uint64_t kBytesUntouched = 0xDEADBEEF;  // the interpreter's BytesReturned before the call

enum class Kind {
  kDriver,
  kMemory,            // WdfMemoryCreate
  kPreallocated,      // WdfMemoryCreatePreallocated
  kCreatedRequest,    // WdfRequestCreate (REQUEST_ALLOCATED_INTERNAL, no IRP)
  kPresentedRequest,  // queue-presented (REQUEST_ALLOCATED_FROM_IO)
  kEmbeddedMemory,    // a presented request's m_SystemBuffer / m_OutputBuffer
  kTarget,            // a started WDFIOTARGET over a scripted lower device
  kSyncRequest,       // the FxSyncRequest of a sync DDI called with Request == NULL
};

bool IsRequest(Kind k) { return k == Kind::kCreatedRequest || k == Kind::kPresentedRequest; }
bool IsTarget(Kind k) { return k == Kind::kTarget; }
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
  // Targets: state and the lower device's fixed answer.
  uint32_t state = kStarted;
  int32_t stack_size = 1;
  uint32_t answer = kInline, answer_status = 0, answer_information = 0, on_cancel = kCancelCancelled;
  int64_t delay = 0;
  // Requests, sending (1.4, 1.5, 4.2-4.6).
  int32_t irp_stack = 0;         // stack locations below the request's own
  bool request_context = false;  // FxRequestBase::HasContext (a target format's context)
  bool formatted = false;        // the verifier's FXREQUEST_FLAG_FORMATTED
  bool sync_formatted = false;   // last formatted by a sync DDI, whose stack buffers are gone
  uint32_t params_type = kTypeNoFormat;
  std::vector<int> format_memory;  // WDFMEMORY the context references
  uint64_t send_length = 0;        // what the lower device's "whole length" is
  bool routine = false;
  uint32_t routine_action = 0;
  bool canceled = false;  // m_Canceled: sticky until reuse
  Flight flight = Flight::kIdle;
  int flight_target = -1;
  uint64_t send_order = 0;
  bool timer = false;
  int64_t timer_due = kNever;
  bool cancelled_from_timer = false;
  bool ignore_state = false;
  bool lower_cancel_routine = false;  // the lower device pends with a cancel routine
  int64_t lower_due = kNever;         // when the lower device completes on its own
  int sync_waiter = 0;                // 1: a sync DDI (routine dropped), 2: SYNCHRONOUS WdfRequestSend
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
        if (static_cast<uint32_t>(program.ops[i].code) > static_cast<uint32_t>(OpCode::kPassTime)) {
          unmodelled_ |= kUnmodelledOp;  // appended after this model was written
          continue;
        }
        Execute(program.ops[i], out);
      } catch (const Stop&) {
        out.bugcheck = true;
        stopped = true;
      }
      if (unloaded_) stopped = true;
    }
    for (const Obj& o : objs_) {  // as the program left them, before teardown
      if (o.kind == Kind::kEmbeddedMemory || o.kind == Kind::kSyncRequest || o.kind == Kind::kTarget) continue;
      p.objects.push_back({o.id, o.alive, o.refs, o.irp_refs, o.min_refs, o.min_irp_refs,
                           o.kind == Kind::kMemory || o.kind == Kind::kPreallocated, o.flight != Flight::kIdle,
                           static_cast<int32_t>(o.format_memory.size())});
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
    p.unmodelled = unmodelled_;
    p.completion_calls = completion_calls_;
    p.accepted_sends = accepted_sends_;
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
    // 4.10: a driver-created request's Dispose releases its context after the
    // cleanup callback.
    if (o.kind == Kind::kCreatedRequest) ReleaseContext(i);
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
    // A WDFMEMORY whose last reference goes while a format still holds one:
    // the driver released a reference it never took. The framework frees it
    // (6.1 bug-checks only an object with a parent or children) and the
    // format's reference dangles until the request releases it into freed
    // memory; the model reports ObjectOverDereference where the driver's
    // release happens (DISAGREEMENTS.md S1, settled).
    bool dangling = false;
    for (const Obj& r : objs_) {
      if (r.alive && std::find(r.format_memory.begin(), r.format_memory.end(), i) != r.format_memory.end()) {
        dangling = true;
      }
    }
    if (o.kind == Kind::kPresentedRequest && o.irp_refs > 0) Report(kRequestFreedWithMemoryReferenced);
    // 6.1: 0x7 when the object still has a parent or children (its parent
    // owns the creation reference, disposed or not); ~FxDriver bug-checks
    // whenever it was not disposed.
    const bool documented = o.parent >= 0 || !o.children.empty() || (o.kind == Kind::kDriver && !o.disposed);
    if (documented || dangling || (!o.disposed && Follow(kDevOverDereferenceUnparented))) {
      Report(kObjectOverDereference);
    }
    RunCleanup(o);
    ReleaseContext(i);  // ~FxRequestBase (3.4)
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
    if (r.kind == Kind::kCreatedRequest && r.has_irp) unmodelled_ |= kUnmodelledUndefined;  // an internal IRP's buffers
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
    CompleteIndex(ResolveRequest(ref), status, information);
  }
  void CompleteIndex(int ri, uint32_t status, const uint64_t* information) {
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
    if (r.flight != Flight::kIdle) {
      // The framework does not check it; the lower driver still owns the IRP
      // (undefined from here on).
      Report(kCompleteWhileSent);
      unmodelled_ |= kUnmodelledUndefined;
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
    ReleaseContext(ri);  // 4.7: the context's ReleaseAndRestore, before the IRP reference check
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
    // PostProcessCompletion: DeleteEarlyDisposedObject, which goes through
    // DeleteObject and so drops a second delete: a request the driver already
    // deleted (ReqDelete) keeps only the references others hold.
    if (r.delete_called) return;
    r.delete_called = true;
    Release(ri);
  }

  uint32_t Reuse(const Op& op) {
    const int ri = ResolveRequest(op.arg("req"));
    if (op.arg("bad_size")) return S(STATUS_INVALID_PARAMETER);
    const uint32_t flags = op.arg("flags");
    if (flags & ~0x3u) return S(STATUS_INVALID_PARAMETER);  // SET_NEW_IRP | MUST_COMPLETE (>= 1.11)
    Obj& r = objs_[ri];
    if (r.flight != Flight::kIdle) {
      // 4.6: a verifier break, and execution continues with undefined results.
      Report(kReuseWhileSent);
      unmodelled_ |= kUnmodelledUndefined;
    }
    // 4.6: the completion routine is cleared; with an IRP, ReleaseAndRestore
    // (before the MUST_COMPLETE checks, which 4.6 lists after it).
    r.routine = false;
    if (r.has_irp) ReleaseContext(ri);
    if (r.kind == Kind::kCreatedRequest && (flags & 0x2)) {
      // MUST_COMPLETE needs an IRP that is not internal.
      Report(kReuseInvalid);
      return S(r.has_irp ? STATUS_INVALID_DEVICE_REQUEST : STATUS_INVALID_PARAMETER);
    }
    if (r.kind == Kind::kPresentedRequest) {
      if (flags & 0x1) return S(STATUS_WDF_REQUEST_INVALID_STATE);
      if (!r.has_irp) Report(kRequestWithoutIrp);
      r.irp_status = op.arg("status");
      r.completed = false;
      r.canceled = false;
      return S(STATUS_SUCCESS);
    }
    if (flags & 0x1) Report(kRequiredParameterNull);  // SET_NEW_IRP with NewIrp NULL
    if (r.has_irp) {                                  // IoReuseIrp: Status set, Information 0
      r.irp_status = op.arg("status");
      r.irp_info = 0;
    }
    r.can_complete = false;
    r.completed = !r.has_irp;
    r.driver_owned = false;
    r.canceled = false;
    return S(STATUS_SUCCESS);
  }

  // ---- Unload (6.3; teardown.cc's report order) ----
  void Unload() {
    for (const Obj& o : objs_) {
      // What unload does to I/O still in flight is not documented.
      if (o.alive && o.flight != Flight::kIdle) unmodelled_ |= kUnmodelledUndefined;
    }
    if (!forgotten_.empty()) unmodelled_ |= kUnmodelledUndefined;
    std::vector<int> reported;
    for (size_t i = 0; i < presented_.size(); ++i) {
      if (presented_[i].completions > 0) continue;
      Report(kRequestCompleted);
      reported.push_back(presented_objs_[i]);
    }
    for (int c : objs_[0].children) {
      if (objs_[c].kind == Kind::kTarget) continue;  // the harness's targets are not the driver's leaks
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

  // ==== Sending (SEMANTICS-WDF 1, 2, 4.2-4.6, 4.9, 4.10, 7) ====
  // In-flight requests carry their timed events (the lower device's own
  // completion, the send timer); the model runs them in time order on its
  // clock, as AdvanceTime and a blocking wait do.

  int ResolveTarget(uint32_t ref) { return Resolve(ref, IsTarget); }
  static int64_t Ticks(int32_t timeout_ms) { return std::abs(int64_t{timeout_ms}) * kTicksPerMs; }

  bool TargetBusy(int ti) const {
    return std::any_of(objs_.begin(), objs_.end(),
                       [ti](const Obj& o) { return o.alive && o.flight != Flight::kIdle && o.flight_target == ti; });
  }
  // Requests in flight on `ti` in `flight`, in the order they were sent.
  std::vector<int> InFlight(int ti, Flight flight) const {
    std::vector<int> out;
    for (size_t i = 0; i < objs_.size(); ++i) {
      const Obj& o = objs_[i];
      if (o.alive && o.flight == flight && o.flight_target == ti) out.push_back(static_cast<int>(i));
    }
    std::sort(out.begin(), out.end(), [this](int a, int b) { return objs_[a].send_order < objs_[b].send_order; });
    return out;
  }
  bool IgnoredIoOutstanding(int ti) const {
    return std::any_of(objs_.begin(), objs_.end(), [ti](const Obj& o) {
      return o.alive && o.flight != Flight::kIdle && o.flight_target == ti && o.ignore_state;
    });
  }

  // irp->SetStatus: with no IRP the framework dereferences NULL, which the
  // docs leave undescribed.
  void SetIrpStatus(int ri, uint32_t status) {
    Obj& r = objs_[ri];
    if (!r.has_irp) {
      unmodelled_ |= kUnmodelledUndefined;
      return;
    }
    r.irp_status = status;
  }

  // FxRequestContext::ReleaseAndRestore (3.4): the format's WDFMEMORY
  // references go and the completion params are NoFormat again.
  void ReleaseContext(int ri) {
    std::vector<int> memory;
    memory.swap(objs_[ri].format_memory);
    objs_[ri].params_type = kTypeNoFormat;
    for (int m : memory) {
      if (objs_[m].kind == Kind::kEmbeddedMemory) {  // ReleaseOverride -> ReleaseIrpReference
        Obj& owner = objs_[objs_[m].owner];
        --owner.irp_refs;
        owner.min_irp_refs = std::min(owner.min_irp_refs, owner.irp_refs);
      } else {
        Release(m);
      }
    }
  }
  // StoreAndReferenceMemory (3.3).
  void ReferenceMemory(int ri, int m) {
    if (objs_[m].kind == Kind::kEmbeddedMemory) {
      ++objs_[objs_[m].owner].irp_refs;  // AddRefOverride -> AddIrpReference
    } else {
      ++objs_[m].refs;
    }
    objs_[ri].format_memory.push_back(m);
  }

  // FxRequestBase::ValidateTarget (1.2 step 7): drops the old context, then
  // keeps, allocates or refuses the IRP.
  uint32_t ValidateTarget(int ri, int ti) {
    Obj& r = objs_[ri];
    const Obj& t = objs_[ti];
    if (r.flight != Flight::kIdle) {
      // Reformatting an IRP the lower driver owns.
      if (r.kind != Kind::kPresentedRequest && !Gone(t.state) && r.irp_stack < t.stack_size) {
        Report(kFormatWhileSent);
      }
      unmodelled_ |= kUnmodelledUndefined;
    }
    ReleaseContext(ri);
    if (Gone(t.state)) return S(STATUS_INVALID_DEVICE_STATE);  // ClearTargetPointers: no stack size
    if (r.has_irp && r.irp_stack >= t.stack_size) return S(STATUS_SUCCESS);
    if (r.kind == Kind::kPresentedRequest) {
      if (!r.has_irp) unmodelled_ |= kUnmodelledUndefined;  // completed, kept alive by a reference
      return S(STATUS_REQUEST_NOT_ACCEPTED);                // too few stack locations
    }
    // REQUEST_ALLOCATED_INTERNAL (or no IRP yet): a fresh IRP sized to the target.
    r.has_irp = true;
    r.irp_stack = t.stack_size;
    r.irp_status = 0;
    r.irp_info = 0;
    r.completed = false;  // SetSubmitIrp
    return S(STATUS_SUCCESS);
  }

  // WdfIoTargetFormatRequestFor{Read,Write,Ioctl,InternalIoctl} (3.2-3.3, 4.2).
  void Format(const Op& op, OpOutcome& out) {
    const int ti = ResolveTarget(op.arg("target"));
    const int ri = ResolveRequest(op.arg("req"));
    std::vector<int> memory;
    auto resolve = [&](uint32_t ref) {
      if (Token(ref) == kNullToken) return -1;  // no buffer
      const int m = ResolveMemory(ref);
      if (objs_[m].kind == Kind::kEmbeddedMemory && !objs_[objs_[m].owner].has_irp) {
        unmodelled_ |= kUnmodelledUndefined;  // its size is read through a NULL IRP (D2)
      }
      memory.push_back(m);
      return m;
    };
    uint32_t type;
    uint64_t send_length = 0;
    if (op.code == OpCode::kFormatIoctl) {
      resolve(op.arg("in"));
      const int output = resolve(op.arg("out"));
      type = op.arg("internal") ? kTypeDeviceControlInternal : kTypeDeviceControl;
      send_length = output >= 0 ? MemorySize(output) : 0;  // OutputBufferLength
    } else {
      const int m = resolve(op.arg("mem"));
      type = op.code == OpCode::kFormatRead ? kTypeRead : kTypeWrite;
      if (m >= 0) {
        const uint64_t size = MemorySize(m), offset = op.arg("offset"), length = op.arg("length");
        if (offset != 0 || length != 0) {
          // ValidateMemoryOffsets, before ValidateTarget: the old format stays.
          if (offset + length > size) {
            out.status = S(STATUS_INTEGER_OVERFLOW);
            return;
          }
          send_length = length != 0 ? length : size - offset;
        } else {
          send_length = size;
        }
      }
    }
    const uint32_t status = ValidateTarget(ri, ti);
    out.status = status;
    if (!Success(status)) return;
    for (int m : memory) ReferenceMemory(ri, m);
    Obj& r = objs_[ri];
    r.request_context = true;
    r.params_type = type;
    r.formatted = true;
    r.sync_formatted = false;
    r.send_length = send_length;
  }

  enum class Submitted { kSent, kQueued, kFailed };
  // FxIoTarget::SubmitLocked (1.4).
  Submitted SubmitLocked(int ri, int ti, uint32_t flags, int64_t timer_ticks, uint32_t* status) {
    Obj& r = objs_[ri];
    const Obj& t = objs_[ti];
    if (r.flight != Flight::kIdle) Report(kRequestAlreadySent);
    if (!r.formatted) {
      Report(kRequestFormattedValid);
      *status = S(STATUS_REQUEST_NOT_ACCEPTED);
      return Submitted::kFailed;
    }
    if (r.irp_stack < t.stack_size) {
      *status = S(STATUS_REQUEST_NOT_ACCEPTED);
      return Submitted::kFailed;
    }
    Submitted result = Submitted::kFailed;
    if (flags & kIgnoreTargetStateFlag) {
      if (!Gone(t.state)) result = Submitted::kSent;
    } else if (t.state == kStarted) {
      result = Submitted::kSent;
    } else if (t.state == kStopped) {
      result = Submitted::kQueued;
    }
    if (result == Submitted::kFailed) {
      *status = S(STATUS_INVALID_DEVICE_STATE);
      return result;
    }
    if (r.canceled) {  // step 7: cancelled before the send
      *status = S(STATUS_CANCELLED);
      return Submitted::kFailed;
    }
    r.flight = result == Submitted::kSent ? Flight::kSent : Flight::kPended;
    r.flight_target = ti;
    r.send_order = ++sends_;
    r.ignore_state = (flags & kIgnoreTargetStateFlag) != 0;
    r.cancelled_from_timer = false;
    r.lower_cancel_routine = false;
    r.lower_due = kNever;
    ++r.refs;  // the target's reference, released at the end of CompleteSubmitted
    if (timer_ticks > 0) {
      r.timer = true;
      r.timer_due = now_ + timer_ticks;
    }
    return result;
  }

  uint64_t LowerInformation(const Obj& r, const Obj& t) const {
    return t.answer_information == 0xFFFF ? r.send_length : t.answer_information;
  }
  // IoCallDriver to the scripted lower device (its answer is fixed).
  void CallLower(int ri) {
    Obj& r = objs_[ri];
    const Obj& t = objs_[r.flight_target];
    if (t.answer == kInline) {
      LowerComplete(ri, t.answer_status, LowerInformation(r, t));
      return;
    }
    r.lower_cancel_routine = t.on_cancel != kCancelIgnore;
    if (t.answer == kPend) {
      if (t.delay == 0) unmodelled_ |= kUnmodelledTiming;  // due now: runs at a scheduling point
      r.lower_due = now_ + t.delay;
    }
  }
  // The lower device's IoCompleteRequest.
  void LowerComplete(int ri, uint32_t status, uint64_t information) {
    if (status == S(STATUS_PENDING) || status == 0xFFFFFFFFu) Report(kCompleteRequestStatusCheck);
    TargetCompletion(ri, status, information);
  }
  // RequestCompletionRoutine, then the owner's CompleteSubmitted (1.5, 4.4).
  void TargetCompletion(int ri, uint32_t status, uint64_t information) {
    Obj& r = objs_[ri];
    if (r.cancelled_from_timer && status == S(STATUS_CANCELLED)) status = S(STATUS_IO_TIMEOUT);
    r.timer = false;
    r.timer_due = kNever;
    r.lower_due = kNever;
    r.lower_cancel_routine = false;
    r.cancelled_from_timer = false;
    r.ignore_state = false;
    r.flight = Flight::kIdle;
    r.flight_target = -1;
    r.formatted = false;  // CompleteSubmitted under the verifier
    r.irp_status = status;
    r.irp_info = information;
    const bool call = r.routine && r.sync_waiter != 1;  // a sync DDI drops the driver's routine
    const uint32_t action = r.routine_action;
    r.routine = false;  // cleared before it is called: once per send
    r.sync_waiter = 0;
    if (r.kind == Kind::kSyncRequest) return;
    if (call) {
      ++completion_calls_;
      cur_->callbacks.push_back({CallbackEvent::Kind::kCompletion, r.id, status});
      if (action == 1) DeleteByDriver(ri);
      if (action == 2) CompleteIndex(ri, status, &information);
    }
    Release(ri);  // the target's reference: may free the request
  }

  // FxRequestBase::Cancel (1.5, 4.5): TRUE if IoCancelIrp found a cancel routine.
  bool Cancel(int ri) {
    Obj& r = objs_[ri];
    r.canceled = true;
    if (r.flight == Flight::kIdle) return false;
    if (r.flight == Flight::kPended) {  // the CSQ's cancel routine: FailPendedRequest
      TargetCompletion(ri, S(STATUS_CANCELLED), 0);
      return true;
    }
    if (!r.lower_cancel_routine) return false;
    const Obj& t = objs_[r.flight_target];
    if (t.on_cancel == kCancelNormal) {
      LowerComplete(ri, t.answer_status, LowerInformation(r, t));
    } else {
      LowerComplete(ri, S(STATUS_CANCELLED), 0);
    }
    return true;
  }

  // ---- The clock ----
  // The next timed event, kNever if none. Two at the same instant, or one at
  // a wait's deadline, are ordered by the choices.
  int64_t NextEvent(int64_t deadline) {
    int64_t best = kNever;
    int count = 0;
    auto consider = [&](int64_t due) {
      if (due == kNever) return;
      if (due < best) {
        best = due;
        count = 1;
      } else if (due == best) {
        ++count;
      }
    };
    for (const Obj& o : objs_) {
      if (!o.alive) continue;
      if (o.flight == Flight::kSent) consider(o.lower_due);
      if (o.flight != Flight::kIdle && o.timer) consider(o.timer_due);
    }
    for (const Forgotten& f : forgotten_) consider(f.due);
    if (count > 1 || (best != kNever && best == deadline)) unmodelled_ |= kUnmodelledTiming;
    return best;
  }
  void RunEvent(int64_t due) {
    now_ = due;
    for (size_t i = 0; i < objs_.size(); ++i) {
      Obj& o = objs_[i];
      if (!o.alive || o.flight == Flight::kIdle) continue;
      if (o.flight == Flight::kSent && o.lower_due == due) {  // the lower device's scheduled completion
        o.lower_due = kNever;
        const Obj& t = objs_[o.flight_target];
        LowerComplete(static_cast<int>(i), t.answer_status, LowerInformation(o, t));
        return;
      }
      if (o.timer && o.timer_due == due) {  // TimerCallback
        o.timer = false;
        o.timer_due = kNever;
        o.cancelled_from_timer = true;
        Cancel(static_cast<int>(i));
        return;
      }
    }
    for (size_t i = 0; i < forgotten_.size(); ++i) {
      if (forgotten_[i].due != due) continue;
      const Forgotten f = forgotten_[i];
      forgotten_.erase(forgotten_.begin() + static_cast<std::ptrdiff_t>(i));
      OriginatorCompletion(f.presented, f.status, f.information);
      return;
    }
  }
  void AdvanceTime(int64_t ticks) {
    const int64_t target = now_ + ticks;
    for (int64_t next = NextEvent(kNever); next <= target; next = NextEvent(kNever)) RunEvent(next);
    now_ = target;
  }
  // The clock moves; what falls due runs at scheduling points the choices pick.
  void PassTime(int64_t ticks) {
    if (NextEvent(kNever) <= now_ + ticks) unmodelled_ |= kUnmodelledTiming;
    now_ += ticks;
  }
  // A blocking wait on the driver thread: events run until `done` or the
  // deadline; with nothing left that could end it, Liveness.
  template <typename Done>
  bool WaitFor(Done done, int64_t deadline) {
    while (!done()) {
      const int64_t next = NextEvent(deadline);
      if (next == kNever && deadline == kNever) Report(kLiveness);
      if (next >= deadline) {
        now_ = deadline;
        return false;
      }
      RunEvent(next);
    }
    return true;
  }

  // ---- The DDIs ----
  // WdfRequestSend (2.1, 4.3).
  void RequestSend(const Op& op, OpOutcome& out) {
    const int ri = ResolveRequest(op.arg("req"));
    const uint32_t flags = op.arg("flags");
    const int32_t timeout_ms = static_cast<int32_t>(op.arg("timeout_ms"));
    const bool forget = (flags & kSendAndForgetFlag) != 0;
    // FxValidateRequestOptions; every failure is STATUS_INVALID_PARAMETER here.
    if (op.arg("bad_size") || (flags & kUserModeOnlyFlag) || (forget && (flags & ~kSendAndForgetFlag))) {
      SetIrpStatus(ri, S(STATUS_INVALID_PARAMETER));
      Report(kSendOptionsInvalid);
      out.value = 0;
      return;
    }
    const int ti = ResolveTarget(op.arg("target"));
    if (objs_[ri].sync_formatted) unmodelled_ |= kUnmodelledUndefined;  // its stack buffers are gone
    if (flags & kSynchronousFlag) {
      if (irql_ != kPassive) unmodelled_ |= kUnmodelledUndefined;  // no IRQL check, then a wait
      const bool accepted = SubmitSync(ri, ti, flags, timeout_ms, 2, nullptr);
      if (accepted) ++accepted_sends_;
      out.value = accepted ? 1 : 0;
      return;
    }
    if (forget) {
      out.value = SendAndForget(ri, ti);
      return;
    }
    if (objs_[ri].kind == Kind::kPresentedRequest && !objs_[ri].routine) {
      SetIrpStatus(ri, S(STATUS_INVALID_DEVICE_REQUEST));
      Report(kReqCompletionRoutine);
      out.value = 0;
      return;
    }
    uint32_t status = 0;
    const int64_t timer = (flags & kTimeoutFlag) && timeout_ms != 0 ? Ticks(timeout_ms) : 0;
    const Submitted result = SubmitLocked(ri, ti, flags, timer, &status);
    if (result == Submitted::kFailed) {
      SetIrpStatus(ri, status);
      out.value = 0;
      return;
    }
    ++accepted_sends_;
    out.value = 1;
    if (result == Submitted::kSent) CallLower(ri);
  }

  // FxIoTarget::SubmitSync (1.3). `waiter` 1: a sync DDI (the driver's
  // routine is dropped); 2: WdfRequestSend SYNCHRONOUS (it is chained).
  // Returns whether the request was sent or queued; `status` gets the result.
  bool SubmitSync(int ri, int ti, uint32_t flags, int32_t timeout_ms, int waiter, uint32_t* status_out) {
    const bool timeout = (flags & kTimeoutFlag) && timeout_ms != 0;
    if (!timeout) Report(kSyncReqSend);
    Obj& r = objs_[ri];
    if (waiter == 1) r.routine = false;  // replaced by _SyncCompletionRoutine and not saved
    r.sync_waiter = waiter;
    uint32_t status = 0;
    const Submitted result = SubmitLocked(ri, ti, flags & ~kTimeoutFlag, 0, &status);
    if (result == Submitted::kFailed) {
      objs_[ri].sync_waiter = 0;
      SetIrpStatus(ri, status);
      if (status_out != nullptr) *status_out = status;
      return false;
    }
    if (result == Submitted::kSent) CallLower(ri);
    auto done = [this, ri] { return objs_[ri].flight == Flight::kIdle; };
    if (!WaitFor(done, timeout ? now_ + Ticks(timeout_ms) : kNever)) {
      objs_[ri].cancelled_from_timer = true;  // under the target lock, then Cancel
      Cancel(ri);
      WaitFor(done, kNever);  // the timeout does not bound the call
    }
    if (status_out != nullptr) *status_out = objs_[ri].irp_status;
    return true;
  }

  // WdfIoTargetSend{Read,Write,Ioctl,InternalIoctl}Synchronously (1.2, 1.7).
  void SendSynchronously(const Op& op, OpOutcome& out) {
    const int ti = ResolveTarget(op.arg("target"));
    uint64_t bytes = kBytesUntouched;  // recorded only if the call returns
    const bool driver_request = Token(op.arg("req")) != kNullToken;
    int ri;
    if (driver_request) {
      ri = ResolveRequest(op.arg("req"));
      // The FxSyncRequest constructor: the old context goes, whatever follows.
      if (objs_[ri].flight != Flight::kIdle) unmodelled_ |= kUnmodelledUndefined;
      ReleaseContext(ri);
      objs_[ri].request_context = false;
    } else {
      Obj sync{Kind::kSyncRequest};
      objs_.push_back(sync);  // no reference into objs_ is held across it
      ri = static_cast<int>(objs_.size()) - 1;
    }
    const uint32_t flags = op.arg("flags");
    const int32_t timeout_ms = static_cast<int32_t>(op.arg("timeout_ms"));
    const bool options = flags != 0 || timeout_ms != 0;
    if (irql_ != kPassive) {  // FxVerifierCheckIrqlLevel(PASSIVE_LEVEL)
      Report(kKmdfIrql);
      out.status = S(STATUS_INVALID_DEVICE_REQUEST);
    } else if (options &&
               ((flags & kUserModeOnlyFlag) || ((flags & kSendAndForgetFlag) && (flags & ~kSendAndForgetFlag)))) {
      out.status = S(STATUS_INVALID_PARAMETER);
    } else if (const uint32_t status = ValidateTarget(ri, ti); !Success(status)) {
      out.status = status;
    } else {
      Obj& r = objs_[ri];
      r.formatted = true;
      r.sync_formatted = true;
      r.send_length = op.arg("length");  // the read, write or ioctl output buffer
      uint32_t result = 0;
      SubmitSync(ri, ti, options ? flags : 0, timeout_ms, 1, &result);
      out.status = result;
      bytes = objs_[ri].irp_info;
      objs_[ri].params_type = kTypeNoFormat;
    }
    out.value = bytes;
    if (!driver_request) objs_[ri].alive = false;
  }

  // Send-and-forget (4.9).
  uint32_t SendAndForget(int ri, int ti) {
    Obj& r = objs_[ri];
    if (r.kind != Kind::kPresentedRequest) {
      SetIrpStatus(ri, S(STATUS_INVALID_DEVICE_STATE));
      return 0;
    }
    if (r.request_context) {
      SetIrpStatus(ri, S(STATUS_INVALID_DEVICE_REQUEST));
      Report(kSendAndForgetMisuse);
      return 0;
    }
    if (r.routine) Report(kSendAndForgetMisuse);  // a break; the send goes on
    if (!r.has_irp || r.irp_refs != 0 || r.flight != Flight::kIdle) unmodelled_ |= kUnmodelledUndefined;
    DisposeTree(ri);  // the driver's cleanup runs before the send
    DestroyChildren(ri);
    const Obj& t = objs_[ti];
    // IoCallDriver with the stack location skipped: the lower device sees the
    // presented request itself.
    const uint64_t whole = (r.major == kRead || r.major == kWrite) ? r.length : r.out_len;
    const uint64_t information = t.answer_information == 0xFFFF ? whole : t.answer_information;
    const int presented = r.presented;
    r.has_irp = false;
    r.driver_owned = false;
    r.completed = true;
    r.completed_by_driver = true;
    const bool deleted_by_driver = r.delete_called;
    r.delete_called = true;
    if (t.answer == kInline) {
      OriginatorCompletion(presented, t.answer_status, information);
    } else if (t.answer == kPend) {
      if (t.delay == 0) unmodelled_ |= kUnmodelledTiming;
      forgotten_.push_back({now_ + t.delay, presented, t.answer_status, information});
    } else {
      unmodelled_ |= kUnmodelledUndefined;  // never completes
    }
    // PostProcessCompletion deletes the request; a second delete is dropped.
    if (!deleted_by_driver) Release(ri);
    return 1;
  }
  // The lower device completes a forwarded IRP straight to its originator.
  void OriginatorCompletion(int presented, uint32_t status, uint64_t information) {
    if (status == S(STATUS_PENDING) || status == 0xFFFFFFFFu) Report(kCompleteRequestStatusCheck);
    program::PresentedOutcome& po = presented_[presented];
    po.completions++;
    po.status = status;
    po.information = information;
  }

  // WdfIoTargetStop, Start, Purge, Close. Only what the docs describe:
  // from a target that is not closed, at PASSIVE_LEVEL, with no
  // IGNORE_TARGET_STATE I/O outstanding.
  bool TargetChangeModelled(int ti) {
    const bool modelled = irql_ == kPassive && !Gone(objs_[ti].state) && !IgnoredIoOutstanding(ti);
    if (!modelled) unmodelled_ |= kUnmodelledUndefined;
    return modelled;
  }
  void WaitForSentIo(int ti) {
    WaitFor([this, ti] { return InFlight(ti, Flight::kSent).empty(); }, kNever);
  }
  void CancelSentIo(int ti) {
    for (int ri : InFlight(ti, Flight::kSent)) Cancel(ri);
  }
  // Pended requests fail with STATUS_WDF_DEVICE_REMOVED_NOT_SENT
  // (CompletePendedRequest, 7 case 8).
  void FailPendedIo(int ti) {
    for (int ri : InFlight(ti, Flight::kPended)) TargetCompletion(ri, S(STATUS_WDF_DEVICE_REMOVED_NOT_SENT), 0);
  }
  void TargetStop(int ti, uint32_t action) {
    if (!TargetChangeModelled(ti)) return;
    objs_[ti].state = kStopped;
    if (action == 0) CancelSentIo(ti);   // WdfIoTargetCancelSentIo
    if (action <= 1) WaitForSentIo(ti);  // ... and WdfIoTargetWaitForSentIoToComplete
  }
  void TargetStart(int ti) {
    if (!TargetChangeModelled(ti)) return;
    objs_[ti].state = kStarted;
    // DrainPendedRequestsLocked(resend): the timer is dropped (1.5, 7 case 15).
    for (int ri : InFlight(ti, Flight::kPended)) {
      Obj& r = objs_[ri];
      r.timer = false;
      r.timer_due = kNever;
      r.flight = Flight::kSent;
      CallLower(ri);
    }
  }
  void TargetPurge(int ti, bool wait) {
    if (!TargetChangeModelled(ti)) return;
    objs_[ti].state = kPurged;
    FailPendedIo(ti);
    CancelSentIo(ti);
    if (wait) WaitForSentIo(ti);
  }
  void TargetClose(int ti) {
    if (!TargetChangeModelled(ti)) return;
    objs_[ti].state = kClosed;
    FailPendedIo(ti);
    CancelSentIo(ti);
    WaitForSentIo(ti);
  }

  // WdfObjectDelete once the handle is resolved (6.1, 4.10).
  void DeleteByDriver(int i) {
    if (objs_[i].kind == Kind::kEmbeddedMemory) i = objs_[i].owner;  // QI(FX_TYPE_OBJECT) is the request
    Obj& o = objs_[i];
    if (o.kind == Kind::kPresentedRequest && !o.delete_called && !o.disposed) Report(kReqDelete);
    if (o.kind == Kind::kDriver) {
      Report(kObjectDeleteNotAllowed);  // NoDeleteDDI
      return;
    }
    if (o.delete_called) return;  // a second delete is dropped
    if (o.kind == Kind::kTarget) {
      if (TargetBusy(i)) unmodelled_ |= kUnmodelledUndefined;
      o.state = kDeleted;  // its Dispose removes it; a reference keeps only the object
    }
    if (o.flight != Flight::kIdle) {
      // VerifyDispose breaks; the target's reference keeps the object until
      // its completion routine has run.
      if (o.kind == Kind::kPresentedRequest) unmodelled_ |= kUnmodelledUndefined;
      Report(kDeleteWhileSent);
    }
    DeleteTree(i);
  }

  void ExecuteSending(const Op& op, OpOutcome& out) {
    auto a = [&op](const char* name) { return op.arg(name); };
    switch (op.code) {
      case OpCode::kTargetCreate: {
        Obj t{Kind::kTarget};
        t.parent = 0;
        t.stack_size = static_cast<int32_t>(a("stack_size"));
        t.answer = a("answer");
        if (t.answer == kFromChoices) unmodelled_ |= kUnmodelledTiming;
        t.answer_status = a("status");
        t.answer_information = a("information");
        t.delay = int64_t{a("delay_ms")} * kTicksPerMs;
        t.on_cancel = a("on_cancel");
        objs_.push_back(t);
        const int i = static_cast<int>(objs_.size()) - 1;
        objs_[0].children.push_back(i);
        slots_[a("dst") % program::kSlots] = i;
        break;
      }
      case OpCode::kTargetStart:
        TargetStart(ResolveTarget(a("target")));
        out.status = S(STATUS_SUCCESS);
        break;
      case OpCode::kTargetStop: TargetStop(ResolveTarget(a("target")), a("action")); break;
      case OpCode::kTargetPurge: TargetPurge(ResolveTarget(a("target")), a("wait") != 0); break;
      case OpCode::kTargetClose: TargetClose(ResolveTarget(a("target"))); break;
      case OpCode::kTargetGetState: out.value = objs_[ResolveTarget(a("target"))].state; break;
      case OpCode::kFormatRead:
      case OpCode::kFormatWrite:
      case OpCode::kFormatIoctl: Format(op, out); break;
      case OpCode::kRequestSend: RequestSend(op, out); break;
      case OpCode::kRequestCancelSent: out.value = Cancel(ResolveRequest(a("req"))) ? 1 : 0; break;
      case OpCode::kRequestChangeTarget: {  // = ValidateTarget (4.2)
        const int ri = ResolveRequest(a("req"));
        out.status = ValidateTarget(ri, ResolveTarget(a("target")));
        break;
      }
      case OpCode::kSendSynchronously: SendSynchronously(op, out); break;
      case OpCode::kPassTime: PassTime(a("ticks")); break;
      default: unmodelled_ |= kUnmodelledOp; break;  // thread_exit, format_using_current_type
    }
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
      case OpCode::kObjectDelete:  // 6.1, 4.10; kmdf-slice 4, 5
        DeleteByDriver(ResolveAny(a("obj")));
        break;
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
      case OpCode::kRequestGetCompletionParams: {  // kmdf-slice 3, SEMANTICS-WDF 4.8
        const Obj& r = objs_[ResolveRequest(a("req"))];
        if (a("bad_size") || !r.request_context) {
          Report(kCompletionParamsInvalid);  // wrong Size, or never formatted (no context)
          out.value = a("bad_size") ? 0x100u /* untouched: WdfRequestTypeMax */ : kTypeNoFormat;
          break;
        }
        out.value = r.params_type;
        break;
      }
      case OpCode::kRequestSetCompletionRoutine: {
        Obj& r = objs_[ResolveRequest(a("req"))];
        r.routine = a("routine") != 0;
        r.routine_action = a("action");
        break;
      }
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
        r.irp_stack = static_cast<int32_t>(a("stack_size")) - 1;  // below the driver's own location
        r.presented = static_cast<int>(presented_.size());
        objs_.push_back(r);
        const int i = static_cast<int>(objs_.size()) - 1;
        presented_.emplace_back();
        presented_objs_.push_back(i);
        slots_[a("dst")] = i;
        break;
      }
      case OpCode::kSetIrql: irql_ = a("irql"); break;
      case OpCode::kAdvanceTime: AdvanceTime(a("ticks")); break;
      case OpCode::kRunReadyWork: break;  // nothing is due (else kUnmodelledTiming): only APCs run
      case OpCode::kUnload: Unload(); break;
      case OpCode::kCount: break;
      default: ExecuteSending(op, out); break;
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
  uint32_t unmodelled_ = 0;
  uint32_t completion_calls_ = 0;
  uint32_t accepted_sends_ = 0;
  int64_t now_ = 0;     // the virtual clock, 100 ns ticks
  uint64_t sends_ = 0;  // orders requests in flight
  // Forwarded IRPs sent and forgotten that the lower device completes later.
  struct Forgotten {
    int64_t due;
    int presented;
    uint32_t status;
    uint64_t information;
  };
  std::vector<Forgotten> forgotten_;
  OpOutcome* cur_ = nullptr;
};

}  // namespace

Prediction PredictDetailed(const program::Program& program, const PredictOptions& options) {
  return Model(options).Run(program);
}

program::RunOutcome Predict(const program::Program& program) { return PredictDetailed(program).outcome; }

}  // namespace wdfsim::model
