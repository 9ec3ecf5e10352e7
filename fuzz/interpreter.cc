#include "interpreter.h"

#include <cstring>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "wdfsim/wdf.h"
#include "wdm_driver.h"

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
    hooks_.arrived = [this](PIRP irp, uint32_t slot) { Hold(slot, NewSinks(), irp); };
    hooks_.called = [this](PIRP irp, bool cancel, NTSTATUS status) {
      if (current_ == nullptr) return;
      current_->callbacks.push_back({cancel ? CallbackEvent::Kind::kIrpCancel : CallbackEvent::Kind::kIrpCompletion,
                                     IrpId(irp), static_cast<uint32_t>(status)});
    };
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
  void ExecuteWdm(const Op& op, OpOutcome& outcome);
  // A synchronous send whose buffer descriptor the op describes: 0 a buffer
  // of `length` bytes, 1 a buffer descriptor with a NULL buffer, 2 an invalid
  // descriptor type, 3 a handle descriptor on `mem` with {offset, length}.
  void SendDescribed(const Op& op, OpOutcome& outcome);

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

  // The program's hold on an IRP: sinks that live as long as the run (the
  // I/O manager may write them after the slot moved on).
  IrpSinks& NewSinks() {
    sinks_.push_back(std::make_unique<IrpSinks>());
    IrpSinks& sinks = *sinks_.back();
    sinks.hooks = &hooks_;
    KeInitializeEvent(&sinks.event, NotificationEvent, FALSE);
    sinks.iosb.Status = static_cast<NTSTATUS>(0xDEADBEEF);  // shows whether the I/O manager wrote it
    sinks.iosb.Information = 0xDEADBEEF;
    sinks.offset.QuadPart = 0;
    return sinks;
  }
  // Slot `slot` holds `irp` (nothing if the builder failed): 1 if it does.
  uint32_t Hold(uint32_t slot, IrpSinks& sinks, PIRP irp) {
    irp_slots_[slot] = irp != nullptr ? &sinks : nullptr;
    if (irp == nullptr) return 0;
    sinks.irp = irp;
    sinks.id = IrpId(irp);
    return 1;
  }
  uint32_t IrpId(const IRP* irp) {
    auto [it, inserted] = irp_ids_.try_emplace(irp, next_irp_id_ + 1);
    if (inserted) ++next_irp_id_;
    return it->second;
  }
  // The IRP a program slot holds, if the I/O manager has not freed it: the
  // inline DDIs (IoMarkIrpPending, IoSetCompletionRoutine) would touch freed
  // memory (or, with no location to write, memory outside the IRP), which is
  // the program's bug and not the model's: those ops are no-ops then.
  IrpSinks* LiveSlot(uint32_t slot) {
    IrpSinks* sinks = irp_slots_[slot];
    return sinks != nullptr && simulation_.IrpAllocated(sinks->irp) ? sinks : nullptr;
  }
  PDEVICE_OBJECT Device(uint32_t slot) const { return device_slots_[slot]; }

  // Declared before the simulation, which may write into sinks and call into
  // devices until it is destroyed.
  std::vector<std::unique_ptr<IrpSinks>> sinks_;
  std::vector<std::unique_ptr<FilterDevice>> filters_;
  WdmDriverHooks hooks_;
  ByteChoiceSource choices_;
  Simulation simulation_;
  IrpSinks* irp_slots_[kIrpSlots] = {};
  PDEVICE_OBJECT device_slots_[kDeviceSlots] = {};
  absl::flat_hash_map<const IRP*, uint32_t> irp_ids_;
  uint32_t next_irp_id_ = 0;
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

// A scripted lower device as target_create and wdm_lower_device describe it.
LowerDeviceOptions LowerOptions(const Op& op) {
  LowerDeviceOptions options;
  options.stack_size = static_cast<CCHAR>(op.arg("stack_size"));
  static constexpr ULONG kFlags[] = {DO_BUFFERED_IO, DO_DIRECT_IO, 0};
  options.flags = kFlags[op.arg("io_type")];
  options.answers_from_choices = op.arg("answer") == 0;
  LowerAnswer& answer = options.default_answer;
  static constexpr LowerAnswer::Kind kKinds[] = {LowerAnswer::Kind::kCompleteInline, LowerAnswer::Kind::kCompleteInline,
                                                 LowerAnswer::Kind::kPend, LowerAnswer::Kind::kPendForever};
  answer.kind = kKinds[op.arg("answer")];
  answer.status = static_cast<NTSTATUS>(op.arg("status"));
  answer.information = op.arg("information") == 0xFFFF ? LowerAnswer::kWholeLength : op.arg("information");
  answer.delay = int64_t{op.arg("delay_ms")} * 10000;
  answer.on_cancel = static_cast<LowerAnswer::OnCancel>(op.arg("on_cancel"));
  answer.completion_irql = op.arg("dispatch_level") ? DISPATCH_LEVEL : PASSIVE_LEVEL;
  return options;
}

// A KeWaitForSingleObject timeout in ms: negative relative, positive
// absolute from now, 0 a poll.
LARGE_INTEGER WaitTimeout(int32_t timeout_ms) {
  LARGE_INTEGER timeout;
  if (timeout_ms <= 0) {
    timeout.QuadPart = int64_t{timeout_ms} * 10000;
  } else {
    KeQuerySystemTime(&timeout);
    timeout.QuadPart += int64_t{timeout_ms} * 10000;
  }
  return timeout;
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
      LowerDevice& device = simulation_.AddLowerDevice(LowerOptions(op));
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
    default: ExecuteWdm(op, out); break;
  }
}

void State::SendDescribed(const Op& op, OpOutcome& out) {
  auto a = [&op](absl::string_view name) { return op.arg(name); };
  WDF_MEMORY_DESCRIPTOR descriptor;
  WDFMEMORY_OFFSET offsets{a("offset"), a("length")};
  switch (a("descriptor")) {
    case 0: WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, Arena(a("length")), a("length")); break;
    case 1: WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, nullptr, a("length")); break;
    case 2:
      WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, Arena(a("length")), a("length"));
      descriptor.Type = static_cast<WDF_MEMORY_DESCRIPTOR_TYPE>(7);
      break;
    default: WDF_MEMORY_DESCRIPTOR_INIT_HANDLE(&descriptor, As<WDFMEMORY>(a("mem")), &offsets); break;
  }
  ULONG_PTR bytes = 0xDEADBEEF;
  const WDFIOTARGET target = As<WDFIOTARGET>(a("target"));
  const WDFREQUEST request = As<WDFREQUEST>(a("req"));
  NTSTATUS status;
  switch (a("kind")) {
    case 0: status = WdfIoTargetSendReadSynchronously(target, request, &descriptor, nullptr, nullptr, &bytes); break;
    case 1: status = WdfIoTargetSendWriteSynchronously(target, request, &descriptor, nullptr, nullptr, &bytes); break;
    case 2:
      status = WdfIoTargetSendIoctlSynchronously(target, request, IoctlCode(METHOD_BUFFERED), &descriptor, nullptr,
                                                 nullptr, &bytes);
      break;
    default:
      status = WdfIoTargetSendInternalIoctlSynchronously(target, request, IoctlCode(METHOD_BUFFERED), &descriptor,
                                                         nullptr, nullptr, &bytes);
      break;
  }
  out.status = static_cast<uint32_t>(status);
  out.value = bytes;
}

void State::ExecuteWdm(const Op& op, OpOutcome& out) {
  auto a = [&op](absl::string_view name) { return op.arg(name); };
  switch (op.code) {
    case OpCode::kWdmLowerDevice:
      device_slots_[a("dst")] = simulation_.AddLowerDevice(LowerOptions(op)).device();
      return;
    case OpCode::kWdmFilterDevice: {
      FilterConfig config;
      config.mode = static_cast<DispatchMode>(a("dispatch"));
      config.status = static_cast<NTSTATUS>(a("status"));
      config.information = a("information");
      config.arrive = a("arrive");
      config.cancel_routine = a("cancel_routine") != 0;
      config.mark = a("mark") != 0;
      filters_.push_back(std::make_unique<FilterDevice>(config, Device(a("lower")), &hooks_));
      device_slots_[a("dst")] = filters_.back()->device();
      return;
    }
    case OpCode::kIrpBuildSync:
    case OpCode::kIrpBuildAsync: {
      static constexpr ULONG kMajors[] = {IRP_MJ_READ, IRP_MJ_WRITE, IRP_MJ_FLUSH_BUFFERS,
                                          IRP_MJ_INTERNAL_DEVICE_CONTROL};
      IrpSinks& sinks = NewSinks();
      sinks.buffer.assign(a("length"), 0x22);
      PVOID data = sinks.buffer.empty() ? nullptr : sinks.buffer.data();
      const auto length = static_cast<ULONG>(sinks.buffer.size());
      PIRP irp = op.code == OpCode::kIrpBuildSync
                     ? IoBuildSynchronousFsdRequest(kMajors[a("major")], Device(a("device")), data, length,
                                                    &sinks.offset, &sinks.event, &sinks.iosb)
                     : IoBuildAsynchronousFsdRequest(kMajors[a("major")], Device(a("device")), data, length,
                                                     &sinks.offset, &sinks.iosb);
      out.value = Hold(a("dst"), sinks, irp);
      return;
    }
    case OpCode::kIrpBuildIoctl: {
      IrpSinks& sinks = NewSinks();
      sinks.buffer.assign(a("input_length"), 0x33);
      sinks.output.assign(a("output_length"), 0);
      PIRP irp = IoBuildDeviceIoControlRequest(
          IoctlCode(a("method")), Device(a("device")), sinks.buffer.empty() ? nullptr : sinks.buffer.data(),
          static_cast<ULONG>(sinks.buffer.size()), sinks.output.empty() ? nullptr : sinks.output.data(),
          static_cast<ULONG>(sinks.output.size()), a("internal") != 0, &sinks.event, &sinks.iosb);
      out.value = Hold(a("dst"), sinks, irp);
      return;
    }
    case OpCode::kAllocationFailures: simulation_.SetInjectAllocationFailures(a("on") != 0); return;
    case OpCode::kSendSynchronouslyDescribed: SendDescribed(op, out); return;
    case OpCode::kTargetControlLater: {
      const WDFIOTARGET target = As<WDFIOTARGET>(a("target"));
      const bool purge = a("purge") != 0;
      simulation_.RunLater(int64_t{a("delay_ms")} * 10000, [target, purge] {
        if (purge) {
          WdfIoTargetPurge(target, WdfIoTargetPurgeIo);
        } else {
          (void)WdfIoTargetStart(target);
        }
      });
      return;
    }
    case OpCode::kIrpAllocate: {
      PIRP irp = IoAllocateIrp(static_cast<CCHAR>(a("stack_size")), FALSE);
      // The creator fills the first location it sends (a FLUSH: no buffer).
      if (irp != nullptr) IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
      out.value = Hold(a("dst"), NewSinks(), irp);
      return;
    }
    default: break;
  }
  // The ops on an IRP the program holds. An empty slot is a no-op; a freed
  // IRP still reaches the DDIs the model implements, which report its use.
  IrpSinks* held = irp_slots_[a("irp")];
  if (held == nullptr) return;
  PIRP irp = held->irp;
  switch (op.code) {
    case OpCode::kIrpFree: IoFreeIrp(irp); break;
    case OpCode::kIrpReuse: IoReuseIrp(irp, static_cast<NTSTATUS>(a("status"))); break;
    case OpCode::kIoCallDriver:
      if (Device(a("device")) != nullptr) out.status = static_cast<uint32_t>(IoCallDriver(Device(a("device")), irp));
      break;
    case OpCode::kIoComplete:
      if (simulation_.IrpAllocated(irp)) {
        irp->IoStatus.Status = static_cast<NTSTATUS>(a("status"));
        irp->IoStatus.Information = a("information");
      }
      IoCompleteRequest(irp, IO_NO_INCREMENT);
      break;
    case OpCode::kIoCancel: out.value = IoCancelIrp(irp); break;
    case OpCode::kIrpSetCancelRoutine: {
      // set=0 is the dequeue side of the cancel race: a driver clears the
      // routine before it completes an IRP it had made cancelable.
      bool had_routine = false;
      SetProgramCancelRoutine(irp, &hooks_, a("set") != 0, &had_routine);
      out.value = had_routine;
      break;
    }
    case OpCode::kIrpSetCompletion:
      // A next location exists only above the bottom one.
      if (LiveSlot(a("irp")) == nullptr || irp->CurrentLocation < 2 || irp->CurrentLocation > irp->StackCount + 1) {
        break;
      }
      held->routine = static_cast<RoutineMode>(a("routine"));
      SetProgramCompletionRoutine(*held, a("success") != 0, a("error") != 0, a("cancel") != 0);
      break;
    case OpCode::kIrpMarkPending:
      // The creator's own "current" location is the core's guard location
      // (CreatorMarkedPending); past it, after the walk, there is none.
      if (LiveSlot(a("irp")) != nullptr && irp->CurrentLocation >= 1 && irp->CurrentLocation <= irp->StackCount + 1) {
        IoMarkIrpPending(irp);
      }
      break;
    case OpCode::kIrpWait: {
      LARGE_INTEGER timeout = WaitTimeout(static_cast<int32_t>(a("timeout_ms")));
      out.status = static_cast<uint32_t>(
          KeWaitForSingleObject(&held->event, Executive, KernelMode, FALSE, a("infinite") ? nullptr : &timeout));
      break;
    }
    case OpCode::kIrpReadIosb:
      out.status = static_cast<uint32_t>(held->iosb.Status);
      out.value = held->iosb.Information;
      break;
    case OpCode::kIrpReadEvent: out.value = KeReadStateEvent(&held->event) != 0; break;
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
