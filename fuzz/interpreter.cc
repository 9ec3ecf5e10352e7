#include "interpreter.h"

#include <cstring>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "wdfsim/wdf.h"

namespace {

struct WdfsimProgramContext {
  uint64_t cookie;
};

}  // namespace

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(WdfsimProgramContext, GetProgramContext)

namespace wdfsim::program {
namespace {

// One run's interpreter state. Callbacks reach it through g_state.
class State {
 public:
  State(const Program& program, const InterpreterOptions& options)
      : choices_(program.choices),
        simulation_(options.choice_source != nullptr ? *options.choice_source : choices_, options.simulation) {
    simulation_.verifier().set_on_report([this](const Report& report) {
      if (current_ != nullptr) current_->rules.emplace_back(report.rule_info().name);
    });
  }

  Simulation& simulation() { return simulation_; }
  void set_current(OpOutcome* outcome) { current_ = outcome; }

  void Callback(CallbackEvent::Kind kind, WDFOBJECT handle) {
    if (current_ == nullptr) return;
    auto it = ids_.find(handle);
    current_->callbacks.push_back({kind, it == ids_.end() ? 0u : it->second});
  }

  void Execute(const Op& op, OpOutcome& outcome);
  void ExecuteSending(const Op& op, OpOutcome& outcome);

  // The program's completion routine: records the call, then does what the
  // op that set it asked (nothing, delete the request, or complete it).
  void Completion(WDFREQUEST request, PWDF_REQUEST_COMPLETION_PARAMS params, uintptr_t action) {
    ++completion_calls_;
    if (current_ != nullptr) {
      auto it = ids_.find(request);
      current_->callbacks.push_back({CallbackEvent::Kind::kCompletion, it == ids_.end() ? 0u : it->second,
                                     static_cast<uint32_t>(params->IoStatus.Status)});
    }
    if (action == 1) WdfObjectDelete(request);
    if (action == 2) WdfRequestCompleteWithInformation(request, params->IoStatus.Status, params->IoStatus.Information);
  }
  uint32_t completion_calls() const { return completion_calls_; }
  uint32_t accepted_sends() const { return accepted_sends_; }

 private:
  WDFOBJECT Handle(uint32_t ref) const {
    if (ref < kSlots) return slots_[ref];
    if (ref == kDriverHandle) return simulation_.driver();
    if (ref == kBogusHandle) return reinterpret_cast<WDFOBJECT>(uintptr_t{0x1234});
    return nullptr;
  }
  template <typename H>
  H As(uint32_t ref) const {
    return static_cast<H>(Handle(ref));
  }
  WDFOBJECT* Slot(uint32_t slot) { return &slots_[slot % kSlots]; }
  void NewObject(WDFOBJECT handle) { ids_[handle] = ++next_id_; }
  // WDF_OBJECT_ATTRIBUTES as the attrs bits describe; nullptr for "none".
  PWDF_OBJECT_ATTRIBUTES Attributes(uint32_t bits, uint32_t parent);
  uint8_t* Arena(size_t size) {
    arena_.push_back(std::make_unique<uint8_t[]>(std::max<size_t>(size, 1)));
    return arena_.back().get();
  }

  ByteChoiceSource choices_;
  Simulation simulation_;
  OpOutcome* current_ = nullptr;
  WDFOBJECT slots_[kSlots] = {};
  absl::flat_hash_map<WDFOBJECT, uint32_t> ids_;
  uint32_t next_id_ = 0;
  WDF_OBJECT_ATTRIBUTES attributes_;
  std::vector<std::unique_ptr<uint8_t[]>> arena_;
  uint32_t completion_calls_ = 0;
  uint32_t accepted_sends_ = 0;
  bool application_exited_ = false;  // then `present` issues nothing
  uint8_t scratch_[0x10000];
};

State* g_state = nullptr;

// Writes the first and last byte of a buffer the framework handed out, so
// AddressSanitizer checks that its whole extent is live memory.
void Touch(void* buffer, size_t size, uint8_t value) {
  if (buffer == nullptr || size == 0) return;
  auto* bytes = static_cast<uint8_t*>(buffer);
  bytes[0] = value;
  bytes[size - 1] = value;
}

void ProgramCleanup(WDFOBJECT object) { g_state->Callback(CallbackEvent::Kind::kCleanup, object); }
void ProgramDestroy(WDFOBJECT object) { g_state->Callback(CallbackEvent::Kind::kDestroy, object); }
void ProgramCompletion(WDFREQUEST request, WDFIOTARGET, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context) {
  g_state->Completion(request, params, reinterpret_cast<uintptr_t>(context));
}

// Send options as the op's flags and timeout describe: the four public bits,
// bit 4 an invalid (user-mode only) flag; a timeout in ms, negative relative,
// positive absolute from now.
WDF_REQUEST_SEND_OPTIONS SendOptions(uint32_t flags, int32_t timeout_ms, bool bad_size) {
  WDF_REQUEST_SEND_OPTIONS options;
  WDF_REQUEST_SEND_OPTIONS_INIT(&options,
                                (flags & 0xF) | ((flags & 0x10) ? WDF_REQUEST_SEND_OPTION_IMPERSONATE_CLIENT : 0));
  if (timeout_ms < 0) {
    options.Timeout = WDF_REL_TIMEOUT_IN_MS(static_cast<ULONGLONG>(-static_cast<int64_t>(timeout_ms)));
  } else if (timeout_ms > 0) {
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    options.Timeout = now.QuadPart + WDF_ABS_TIMEOUT_IN_MS(static_cast<ULONGLONG>(timeout_ms));
  }
  if (bad_size) options.Size -= 1;
  return options;
}

ULONG IoctlCode(uint32_t method) { return CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900 + method, method, FILE_ANY_ACCESS); }

PWDF_OBJECT_ATTRIBUTES State::Attributes(uint32_t bits, uint32_t parent) {
  if (bits & kAttrNone) return WDF_NO_OBJECT_ATTRIBUTES;
  if (bits & kAttrZeroed) {
    memset(&attributes_, 0, sizeof(attributes_));
    attributes_.Size = sizeof(attributes_);
  } else {
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes_);
  }
  if (bits & kAttrContext) WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(&attributes_, WdfsimProgramContext);
  if (bits & kAttrCleanup) attributes_.EvtCleanupCallback = ProgramCleanup;
  if (bits & kAttrDestroy) attributes_.EvtDestroyCallback = ProgramDestroy;
  if (bits & kAttrBadSize) attributes_.Size -= 1;
  attributes_.ParentObject = Handle(parent);
  return &attributes_;
}

void State::Execute(const Op& op, OpOutcome& out) {
  auto a = [&op](absl::string_view name) { return op.arg(name); };
  switch (op.code) {
    case OpCode::kMemoryCreate: {
      PVOID buffer = nullptr;
      WDFMEMORY* slot = reinterpret_cast<WDFMEMORY*>(Slot(a("dst")));
      out.status = static_cast<uint32_t>(WdfMemoryCreate(Attributes(a("attrs"), a("parent")),
                                                         a("paged") ? PagedPool : NonPagedPoolNx,
                                                         0x5773646Du /* 'Wsdm' */, a("size"), slot, &buffer));
      if (NT_SUCCESS(*out.status)) {
        NewObject(*slot);
        Touch(buffer, a("size"), 0xA5);
      }
      break;
    }
    case OpCode::kMemoryCreatePreallocated: {
      WDFMEMORY* slot = reinterpret_cast<WDFMEMORY*>(Slot(a("dst")));
      out.status = static_cast<uint32_t>(
          WdfMemoryCreatePreallocated(Attributes(a("attrs"), a("parent")), Arena(a("size")), a("size"), slot));
      if (NT_SUCCESS(*out.status)) NewObject(*slot);
      break;
    }
    case OpCode::kMemoryAssignBuffer:
      out.status = static_cast<uint32_t>(WdfMemoryAssignBuffer(As<WDFMEMORY>(a("mem")), Arena(a("size")), a("size")));
      break;
    case OpCode::kMemoryGetBuffer: {
      size_t size = 0;
      void* buffer = WdfMemoryGetBuffer(As<WDFMEMORY>(a("mem")), &size);
      out.value = size;
      Touch(buffer, size, 0x5A);
      break;
    }
    case OpCode::kMemoryCopyToBuffer:
      out.status =
          static_cast<uint32_t>(WdfMemoryCopyToBuffer(As<WDFMEMORY>(a("mem")), a("offset"), scratch_, a("count")));
      break;
    case OpCode::kMemoryCopyFromBuffer:
      out.status =
          static_cast<uint32_t>(WdfMemoryCopyFromBuffer(As<WDFMEMORY>(a("mem")), a("offset"), scratch_, a("count")));
      break;
    case OpCode::kObjectReference: WdfObjectReference(Handle(a("obj"))); break;
    case OpCode::kObjectDereference: WdfObjectDereference(Handle(a("obj"))); break;
    case OpCode::kObjectDelete: WdfObjectDelete(Handle(a("obj"))); break;
    case OpCode::kObjectGetContext: {
      WdfsimProgramContext* context = GetProgramContext(Handle(a("obj")));
      out.value = context != nullptr ? 1 : 0;
      if (context != nullptr) context->cookie++;
      break;
    }
    case OpCode::kRequestCreate: {
      WDFREQUEST* slot = reinterpret_cast<WDFREQUEST*>(Slot(a("dst")));
      out.status = static_cast<uint32_t>(WdfRequestCreate(Attributes(a("attrs"), a("parent")), WDF_NO_HANDLE, slot));
      if (NT_SUCCESS(*out.status)) NewObject(*slot);
      break;
    }
    case OpCode::kRequestReuse: {
      WDF_REQUEST_REUSE_PARAMS params;
      WDF_REQUEST_REUSE_PARAMS_INIT(&params, a("flags"), static_cast<NTSTATUS>(a("status")));
      if (a("bad_size")) params.Size -= 1;
      out.status = static_cast<uint32_t>(WdfRequestReuse(As<WDFREQUEST>(a("req")), &params));
      break;
    }
    case OpCode::kRequestComplete:
      WdfRequestComplete(As<WDFREQUEST>(a("req")), static_cast<NTSTATUS>(a("status")));
      break;
    case OpCode::kRequestCompleteWithInformation:
      WdfRequestCompleteWithInformation(As<WDFREQUEST>(a("req")), static_cast<NTSTATUS>(a("status")), a("information"));
      break;
    case OpCode::kRequestCompleteWithPriorityBoost:
      WdfRequestCompleteWithPriorityBoost(As<WDFREQUEST>(a("req")), static_cast<NTSTATUS>(a("status")),
                                          static_cast<CCHAR>(a("boost")));
      break;
    case OpCode::kRequestGetStatus:
      out.value = static_cast<uint32_t>(WdfRequestGetStatus(As<WDFREQUEST>(a("req"))));
      break;
    case OpCode::kRequestGetInformation: out.value = WdfRequestGetInformation(As<WDFREQUEST>(a("req"))); break;
    case OpCode::kRequestSetInformation: WdfRequestSetInformation(As<WDFREQUEST>(a("req")), a("information")); break;
    case OpCode::kRequestGetCompletionParams: {
      WDF_REQUEST_COMPLETION_PARAMS params;
      WDF_REQUEST_COMPLETION_PARAMS_INIT(&params);
      params.Type = WdfRequestTypeMax;  // shows whether the DDI wrote the params
      if (a("bad_size")) params.Size -= 1;
      WdfRequestGetCompletionParams(As<WDFREQUEST>(a("req")), &params);
      out.value = static_cast<uint32_t>(params.Type);
      break;
    }
    case OpCode::kRequestSetCompletionRoutine:
      WdfRequestSetCompletionRoutine(As<WDFREQUEST>(a("req")), a("routine") ? ProgramCompletion : nullptr,
                                     reinterpret_cast<WDFCONTEXT>(uintptr_t{a("action")}));
      break;
    case OpCode::kRequestRetrieveInputMemory:
      out.status = static_cast<uint32_t>(
          WdfRequestRetrieveInputMemory(As<WDFREQUEST>(a("req")), reinterpret_cast<WDFMEMORY*>(Slot(a("dst")))));
      break;
    case OpCode::kRequestRetrieveOutputMemory:
      out.status = static_cast<uint32_t>(
          WdfRequestRetrieveOutputMemory(As<WDFREQUEST>(a("req")), reinterpret_cast<WDFMEMORY*>(Slot(a("dst")))));
      break;
    case OpCode::kRequestRetrieveInputBuffer:
    case OpCode::kRequestRetrieveOutputBuffer: {
      PVOID buffer = nullptr;
      size_t length = 0;
      const auto retrieve = op.code == OpCode::kRequestRetrieveInputBuffer ? WdfRequestRetrieveInputBuffer
                                                                           : WdfRequestRetrieveOutputBuffer;
      out.status = static_cast<uint32_t>(retrieve(As<WDFREQUEST>(a("req")), a("min_length"), &buffer, &length));
      if (NT_SUCCESS(*out.status)) {
        out.value = length;
        Touch(buffer, length, 0x3C);
      }
      break;
    }
    case OpCode::kPresent: {
      // An application thread that exited issues no more I/O.
      if (application_exited_) {
        *Slot(a("dst")) = nullptr;
        break;
      }
      IoRequestSpec spec;
      static constexpr UCHAR kMajors[] = {IRP_MJ_READ, IRP_MJ_WRITE, IRP_MJ_DEVICE_CONTROL,
                                          IRP_MJ_INTERNAL_DEVICE_CONTROL};
      spec.major_function = kMajors[a("major")];
      spec.length = a("length");
      spec.io_control_code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800 + a("method"), a("method"), FILE_ANY_ACCESS);
      spec.input_length = a("input_length");
      spec.output_length = a("output_length");
      spec.stack_size = static_cast<CCHAR>(a("stack_size"));
      spec.io_type = static_cast<IoType>(a("io_type"));
      spec.fill = 0x11;
      WDFREQUEST request = simulation_.PresentRequest(spec);
      *Slot(a("dst")) = request;
      NewObject(request);
      break;
    }
    case OpCode::kSetIrql: simulation_.SetIrql(static_cast<KIRQL>(a("irql"))); break;
    case OpCode::kAdvanceTime: simulation_.AdvanceTime(a("ticks")); break;
    case OpCode::kRunReadyWork: simulation_.RunReadyWork(); break;
    case OpCode::kUnload: simulation_.Unload(); break;
    case OpCode::kCount: break;
    default: ExecuteSending(op, out); break;
  }
}

void State::ExecuteSending(const Op& op, OpOutcome& out) {
  auto a = [&op](absl::string_view name) { return op.arg(name); };
  switch (op.code) {
    case OpCode::kTargetCreate: {
      LowerDeviceOptions options;
      options.stack_size = static_cast<CCHAR>(a("stack_size"));
      static constexpr ULONG kFlags[] = {DO_BUFFERED_IO, DO_DIRECT_IO, 0};
      options.flags = kFlags[a("io_type")];
      options.answers_from_choices = a("answer") == 0;
      LowerAnswer& answer = options.default_answer;
      static constexpr LowerAnswer::Kind kKinds[] = {LowerAnswer::Kind::kCompleteInline,
                                                     LowerAnswer::Kind::kCompleteInline, LowerAnswer::Kind::kPend,
                                                     LowerAnswer::Kind::kPendForever};
      answer.kind = kKinds[a("answer")];
      answer.status = static_cast<NTSTATUS>(a("status"));
      answer.information = a("information") == 0xFFFF ? LowerAnswer::kWholeLength : a("information");
      answer.delay = int64_t{a("delay_ms")} * 10000;
      answer.on_cancel = static_cast<LowerAnswer::OnCancel>(a("on_cancel"));
      answer.completion_irql = a("dispatch_level") ? DISPATCH_LEVEL : PASSIVE_LEVEL;
      LowerDevice& device = simulation_.AddLowerDevice(options);
      *Slot(a("dst")) = simulation_.CreateIoTarget(device.device());
      break;
    }
    case OpCode::kTargetStart:
      out.status = static_cast<uint32_t>(WdfIoTargetStart(As<WDFIOTARGET>(a("target"))));
      break;
    case OpCode::kTargetStop:
      WdfIoTargetStop(As<WDFIOTARGET>(a("target")), static_cast<WDF_IO_TARGET_SENT_IO_ACTION>(a("action") + 1));
      break;
    case OpCode::kTargetPurge:
      WdfIoTargetPurge(As<WDFIOTARGET>(a("target")), a("wait") ? WdfIoTargetPurgeIoAndWait : WdfIoTargetPurgeIo);
      break;
    case OpCode::kTargetClose: WdfIoTargetClose(As<WDFIOTARGET>(a("target"))); break;
    case OpCode::kTargetGetState: out.value = WdfIoTargetGetState(As<WDFIOTARGET>(a("target"))); break;
    case OpCode::kFormatRead:
    case OpCode::kFormatWrite: {
      WDFMEMORY_OFFSET offsets{a("offset"), a("length")};
      PWDFMEMORY_OFFSET pointer = a("offset") == 0 && a("length") == 0 ? nullptr : &offsets;
      const auto format =
          op.code == OpCode::kFormatRead ? WdfIoTargetFormatRequestForRead : WdfIoTargetFormatRequestForWrite;
      out.status = static_cast<uint32_t>(
          format(As<WDFIOTARGET>(a("target")), As<WDFREQUEST>(a("req")), As<WDFMEMORY>(a("mem")), pointer, nullptr));
      break;
    }
    case OpCode::kFormatIoctl: {
      const auto format = a("internal") ? WdfIoTargetFormatRequestForInternalIoctl : WdfIoTargetFormatRequestForIoctl;
      out.status =
          static_cast<uint32_t>(format(As<WDFIOTARGET>(a("target")), As<WDFREQUEST>(a("req")), IoctlCode(a("method")),
                                       As<WDFMEMORY>(a("in")), nullptr, As<WDFMEMORY>(a("out")), nullptr));
      break;
    }
    case OpCode::kFormatUsingCurrentType: WdfRequestFormatRequestUsingCurrentType(As<WDFREQUEST>(a("req"))); break;
    case OpCode::kRequestSend: {
      WDF_REQUEST_SEND_OPTIONS options =
          SendOptions(a("flags"), static_cast<int32_t>(a("timeout_ms")), a("bad_size") != 0);
      const bool forget = (options.Flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET) != 0;
      const BOOLEAN sent = WdfRequestSend(As<WDFREQUEST>(a("req")), As<WDFIOTARGET>(a("target")), &options);
      out.value = sent;
      if (sent && !forget) ++accepted_sends_;
      break;
    }
    case OpCode::kRequestCancelSent: out.value = WdfRequestCancelSentRequest(As<WDFREQUEST>(a("req"))); break;
    case OpCode::kRequestChangeTarget:
      out.status =
          static_cast<uint32_t>(WdfRequestChangeTarget(As<WDFREQUEST>(a("req")), As<WDFIOTARGET>(a("target"))));
      break;
    case OpCode::kSendSynchronously: {
      const size_t length = a("length");
      WDF_MEMORY_DESCRIPTOR descriptor;
      WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, Arena(length), static_cast<ULONG>(length));
      PWDF_MEMORY_DESCRIPTOR buffer = length > 0 ? &descriptor : nullptr;
      WDF_REQUEST_SEND_OPTIONS options = SendOptions(a("flags"), static_cast<int32_t>(a("timeout_ms")), false);
      PWDF_REQUEST_SEND_OPTIONS pointer = a("flags") == 0 && a("timeout_ms") == 0 ? nullptr : &options;
      ULONG_PTR bytes = 0xDEADBEEF;
      const WDFIOTARGET target = As<WDFIOTARGET>(a("target"));
      const WDFREQUEST request = As<WDFREQUEST>(a("req"));
      NTSTATUS status;
      switch (a("kind")) {
        case 0: status = WdfIoTargetSendReadSynchronously(target, request, buffer, nullptr, pointer, &bytes); break;
        case 1: status = WdfIoTargetSendWriteSynchronously(target, request, buffer, nullptr, pointer, &bytes); break;
        case 2:
          status = WdfIoTargetSendIoctlSynchronously(target, request, IoctlCode(METHOD_BUFFERED), buffer, buffer,
                                                     pointer, &bytes);
          break;
        default:
          status = WdfIoTargetSendInternalIoctlSynchronously(target, request, IoctlCode(METHOD_BUFFERED), buffer,
                                                             buffer, pointer, &bytes);
          break;
      }
      out.status = static_cast<uint32_t>(status);
      out.value = bytes;
      break;
    }
    case OpCode::kPassTime: simulation_.PassTime(a("ticks")); break;
    case OpCode::kThreadExit:
      simulation_.ExitThread(a("application") ? simulation_.application_thread() : simulation_.driver_thread());
      application_exited_ |= a("application") != 0;
      break;
    default: break;
  }
}

}  // namespace

RunResult Run(const Program& program, const InterpreterOptions& options) {
  RunResult result;
  State state(program, options);
  g_state = &state;
  Simulation& simulation = state.simulation();
  result.outcome.ops.resize(program.ops.size());
  bool stopped = false;
  for (size_t i = 0; i < program.ops.size() && !stopped; ++i) {
    OpOutcome& outcome = result.outcome.ops[i];
    outcome.executed = true;
    state.set_current(&outcome);
    try {
      state.Execute(program.ops[i], outcome);
    } catch (const BugCheck&) {
      outcome.bugcheck = true;
      stopped = true;
    }
    if (simulation.unloaded()) stopped = true;
  }
  if (!stopped) {
    OpOutcome& teardown = result.outcome.teardown;
    teardown.executed = true;
    state.set_current(&teardown);
    try {
      simulation.Unload();
    } catch (const BugCheck&) {
      teardown.bugcheck = true;
    }
  }
  state.set_current(nullptr);
  for (const IoOutcome& io : simulation.io_outcomes()) {
    PresentedOutcome presented;
    presented.completions = io.completions;
    if (io.completions > 0) {
      presented.status = static_cast<uint32_t>(io.status);
      presented.information = io.information;
    }
    result.outcome.presented.push_back(presented);
  }
  result.completion_calls = state.completion_calls();
  result.accepted_sends = state.accepted_sends();
  result.verdict = simulation.verdict();
  if (options.keep_text) {
    for (const Report& report : result.verdict.reports) {
      result.reports_text += report.Format(simulation.trace());
      result.reports_text += "\n";
    }
    result.trace_text = simulation.trace().FormatAll();
  }
  g_state = nullptr;
  return result;
}

}  // namespace wdfsim::program
