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
      : choices_(program.choices), simulation_(choices_, options.simulation) {
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
void ProgramCompletion(WDFREQUEST, WDFIOTARGET, PWDF_REQUEST_COMPLETION_PARAMS, WDFCONTEXT) {}

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
                                                         a("paged") ? PagedPool : NonPagedPoolNx, 0x5773646Du /* 'Wsdm' */, a("size"),
                                                         slot, &buffer));
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
      out.status =
          static_cast<uint32_t>(WdfMemoryAssignBuffer(As<WDFMEMORY>(a("mem")), Arena(a("size")), a("size")));
      break;
    case OpCode::kMemoryGetBuffer: {
      size_t size = 0;
      void* buffer = WdfMemoryGetBuffer(As<WDFMEMORY>(a("mem")), &size);
      out.value = size;
      Touch(buffer, size, 0x5A);
      break;
    }
    case OpCode::kMemoryCopyToBuffer:
      out.status = static_cast<uint32_t>(
          WdfMemoryCopyToBuffer(As<WDFMEMORY>(a("mem")), a("offset"), scratch_, a("count")));
      break;
    case OpCode::kMemoryCopyFromBuffer:
      out.status = static_cast<uint32_t>(
          WdfMemoryCopyFromBuffer(As<WDFMEMORY>(a("mem")), a("offset"), scratch_, a("count")));
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
      out.status =
          static_cast<uint32_t>(WdfRequestCreate(Attributes(a("attrs"), a("parent")), WDF_NO_HANDLE, slot));
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
      WdfRequestCompleteWithInformation(As<WDFREQUEST>(a("req")), static_cast<NTSTATUS>(a("status")),
                                        a("information"));
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
      WdfRequestSetCompletionRoutine(As<WDFREQUEST>(a("req")), a("routine") ? ProgramCompletion : nullptr, nullptr);
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
