#include "program/program.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "wdfsim/ntstatus.h"

namespace wdfsim::program {
namespace {

using K = ArgKind;

const std::vector<OpSpec>& Specs() {
  static const std::vector<OpSpec> specs = {
      {OpCode::kMemoryCreate,
       "memory_create",
       {{"dst", K::kSlot}, {"size", K::kU16}, {"parent", K::kHandle}, {"paged", K::kBool}, {"attrs", K::kAttrs}}},
      {OpCode::kMemoryCreatePreallocated,
       "memory_create_preallocated",
       {{"dst", K::kSlot}, {"size", K::kU16}, {"parent", K::kHandle}, {"attrs", K::kAttrs}}},
      {OpCode::kMemoryAssignBuffer, "memory_assign_buffer", {{"mem", K::kHandle}, {"size", K::kU16}}},
      {OpCode::kMemoryGetBuffer, "memory_get_buffer", {{"mem", K::kHandle}}},
      {OpCode::kMemoryCopyToBuffer,
       "memory_copy_to_buffer",
       {{"mem", K::kHandle}, {"offset", K::kU16}, {"count", K::kU16}}},
      {OpCode::kMemoryCopyFromBuffer,
       "memory_copy_from_buffer",
       {{"mem", K::kHandle}, {"offset", K::kU16}, {"count", K::kU16}}},
      {OpCode::kObjectReference, "object_reference", {{"obj", K::kHandle}}},
      {OpCode::kObjectDereference, "object_dereference", {{"obj", K::kHandle}}},
      {OpCode::kObjectDelete, "object_delete", {{"obj", K::kHandle}}},
      {OpCode::kObjectGetContext, "object_get_context", {{"obj", K::kHandle}}},
      {OpCode::kRequestCreate, "request_create", {{"dst", K::kSlot}, {"parent", K::kHandle}, {"attrs", K::kAttrs}}},
      {OpCode::kRequestReuse,
       "request_reuse",
       {{"req", K::kHandle}, {"flags", K::kU8}, {"status", K::kStatus}, {"bad_size", K::kBool}}},
      {OpCode::kRequestComplete, "request_complete", {{"req", K::kHandle}, {"status", K::kStatus}}},
      {OpCode::kRequestCompleteWithInformation,
       "request_complete_with_information",
       {{"req", K::kHandle}, {"status", K::kStatus}, {"information", K::kU32}}},
      {OpCode::kRequestCompleteWithPriorityBoost,
       "request_complete_with_priority_boost",
       {{"req", K::kHandle}, {"status", K::kStatus}, {"boost", K::kU8}}},
      {OpCode::kRequestGetStatus, "request_get_status", {{"req", K::kHandle}}},
      {OpCode::kRequestGetInformation, "request_get_information", {{"req", K::kHandle}}},
      {OpCode::kRequestSetInformation, "request_set_information", {{"req", K::kHandle}, {"information", K::kU32}}},
      {OpCode::kRequestGetCompletionParams,
       "request_get_completion_params",
       {{"req", K::kHandle}, {"bad_size", K::kBool}}},
      {OpCode::kRequestSetCompletionRoutine,
       "request_set_completion_routine",
       {{"req", K::kHandle}, {"routine", K::kBool}, {"action", K::kU8}}},
      {OpCode::kRequestRetrieveInputMemory, "request_retrieve_input_memory", {{"req", K::kHandle}, {"dst", K::kSlot}}},
      {OpCode::kRequestRetrieveOutputMemory,
       "request_retrieve_output_memory",
       {{"req", K::kHandle}, {"dst", K::kSlot}}},
      {OpCode::kRequestRetrieveInputBuffer,
       "request_retrieve_input_buffer",
       {{"req", K::kHandle}, {"min_length", K::kU16}}},
      {OpCode::kRequestRetrieveOutputBuffer,
       "request_retrieve_output_buffer",
       {{"req", K::kHandle}, {"min_length", K::kU16}}},
      {OpCode::kPresent,
       "present",
       {{"dst", K::kSlot},
        {"major", K::kMajor},
        {"length", K::kU16},
        {"method", K::kMethod},
        {"input_length", K::kU16},
        {"output_length", K::kU16},
        {"stack_size", K::kU8},
        {"io_type", K::kIoType}}},
      {OpCode::kSetIrql, "set_irql", {{"irql", K::kIrql}}},
      {OpCode::kAdvanceTime, "advance_time", {{"ticks", K::kU32}}},
      {OpCode::kRunReadyWork, "run_ready_work", {}},
      {OpCode::kUnload, "unload", {}},
      {OpCode::kTargetCreate,
       "target_create",
       {{"dst", K::kSlot},
        {"answer", K::kAnswer},
        {"status", K::kStatus},
        {"information", K::kU16},
        {"delay_ms", K::kU16},
        {"on_cancel", K::kCancelMode},
        {"dispatch_level", K::kBool},
        {"io_type", K::kIoType},
        {"stack_size", K::kU8}}},
      {OpCode::kTargetStart, "target_start", {{"target", K::kHandle}}},
      {OpCode::kTargetStop, "target_stop", {{"target", K::kHandle}, {"action", K::kSentIoAction}}},
      {OpCode::kTargetPurge, "target_purge", {{"target", K::kHandle}, {"wait", K::kBool}}},
      {OpCode::kTargetClose, "target_close", {{"target", K::kHandle}}},
      {OpCode::kTargetGetState, "target_get_state", {{"target", K::kHandle}}},
      {OpCode::kFormatRead,
       "format_read",
       {{"target", K::kHandle}, {"req", K::kHandle}, {"mem", K::kHandle}, {"offset", K::kU16}, {"length", K::kU16}}},
      {OpCode::kFormatWrite,
       "format_write",
       {{"target", K::kHandle}, {"req", K::kHandle}, {"mem", K::kHandle}, {"offset", K::kU16}, {"length", K::kU16}}},
      {OpCode::kFormatIoctl,
       "format_ioctl",
       {{"target", K::kHandle},
        {"req", K::kHandle},
        {"internal", K::kBool},
        {"method", K::kMethod},
        {"in", K::kHandle},
        {"out", K::kHandle}}},
      {OpCode::kFormatUsingCurrentType, "format_using_current_type", {{"req", K::kHandle}}},
      {OpCode::kRequestSend,
       "request_send",
       {{"req", K::kHandle},
        {"target", K::kHandle},
        {"flags", K::kU8},
        {"timeout_ms", K::kI32},
        {"bad_size", K::kBool}}},
      {OpCode::kRequestCancelSent, "request_cancel_sent", {{"req", K::kHandle}}},
      {OpCode::kRequestChangeTarget, "request_change_target", {{"req", K::kHandle}, {"target", K::kHandle}}},
      {OpCode::kSendSynchronously,
       "send_synchronously",
       {{"kind", K::kSendKind},
        {"target", K::kHandle},
        {"req", K::kHandle},
        {"length", K::kU16},
        {"flags", K::kU8},
        {"timeout_ms", K::kI32}}},
      {OpCode::kThreadExit, "thread_exit", {{"application", K::kBool}}},
      {OpCode::kPassTime, "pass_time", {{"ticks", K::kU32}}},
      {OpCode::kWdmLowerDevice,
       "wdm_lower_device",
       {{"dst", K::kDevice},
        {"answer", K::kAnswer},
        {"status", K::kStatus},
        {"information", K::kU16},
        {"delay_ms", K::kU16},
        {"on_cancel", K::kCancelMode},
        {"dispatch_level", K::kBool},
        {"io_type", K::kIoType},
        {"stack_size", K::kU8}}},
      {OpCode::kWdmFilterDevice,
       "wdm_filter_device",
       {{"dst", K::kDevice},
        {"lower", K::kDevice},
        {"dispatch", K::kDispatch},
        {"status", K::kStatus},
        {"information", K::kU16},
        {"arrive", K::kIrp},
        {"cancel_routine", K::kBool},
        {"mark", K::kBool}}},
      {OpCode::kIrpBuildSync,
       "irp_build_sync",
       {{"dst", K::kIrp}, {"major", K::kWdmMajor}, {"device", K::kDevice}, {"length", K::kU16}}},
      {OpCode::kIrpBuildAsync,
       "irp_build_async",
       {{"dst", K::kIrp}, {"major", K::kWdmMajor}, {"device", K::kDevice}, {"length", K::kU16}}},
      {OpCode::kIrpBuildIoctl,
       "irp_build_ioctl",
       {{"dst", K::kIrp},
        {"device", K::kDevice},
        {"method", K::kMethod},
        {"internal", K::kBool},
        {"input_length", K::kU16},
        {"output_length", K::kU16}}},
      {OpCode::kIrpAllocate, "irp_allocate", {{"dst", K::kIrp}, {"stack_size", K::kU8}}},
      {OpCode::kIrpFree, "irp_free", {{"irp", K::kIrp}}},
      {OpCode::kIrpReuse, "irp_reuse", {{"irp", K::kIrp}, {"status", K::kStatus}}},
      {OpCode::kIrpSetCompletion,
       "irp_set_completion",
       {{"irp", K::kIrp}, {"routine", K::kRoutine}, {"success", K::kBool}, {"error", K::kBool}, {"cancel", K::kBool}}},
      {OpCode::kIoCallDriver, "io_call_driver", {{"irp", K::kIrp}, {"device", K::kDevice}}},
      {OpCode::kIoComplete, "io_complete", {{"irp", K::kIrp}, {"status", K::kStatus}, {"information", K::kU16}}},
      {OpCode::kIoCancel, "io_cancel", {{"irp", K::kIrp}}},
      {OpCode::kIrpSetCancelRoutine, "irp_set_cancel_routine", {{"irp", K::kIrp}, {"set", K::kBool}}},
      {OpCode::kIrpMarkPending, "irp_mark_pending", {{"irp", K::kIrp}}},
      {OpCode::kIrpWait, "irp_wait", {{"irp", K::kIrp}, {"timeout_ms", K::kI32}, {"infinite", K::kBool}}},
      {OpCode::kIrpReadIosb, "irp_read_iosb", {{"irp", K::kIrp}}},
      {OpCode::kIrpReadEvent, "irp_read_event", {{"irp", K::kIrp}}},
      {OpCode::kAllocationFailures, "allocation_failures", {{"on", K::kBool}}},
      {OpCode::kSendSynchronouslyDescribed,
       "send_synchronously_described",
       {{"kind", K::kSendKind},
        {"target", K::kHandle},
        {"req", K::kHandle},
        {"descriptor", K::kU8},
        {"mem", K::kHandle},
        {"offset", K::kU16},
        {"length", K::kU16}}},
      {OpCode::kTargetControlLater,
       "target_control_later",
       {{"target", K::kHandle}, {"purge", K::kBool}, {"delay_ms", K::kU16}}},
  };
  return specs;
}

size_t Width(ArgKind kind) {
  switch (kind) {
    case K::kU16: return 2;
    case K::kU32:
    case K::kI32:
    case K::kStatus: return 4;
    default: return 1;
  }
}

const std::vector<std::pair<absl::string_view, uint32_t>>& StatusNames() {
  static const std::vector<std::pair<absl::string_view, uint32_t>> names = {
      {"STATUS_SUCCESS", STATUS_SUCCESS},
      {"STATUS_PENDING", STATUS_PENDING},
      {"STATUS_TIMEOUT", STATUS_TIMEOUT},
      {"STATUS_MORE_PROCESSING_REQUIRED", static_cast<uint32_t>(STATUS_MORE_PROCESSING_REQUIRED)},
      {"STATUS_WDF_QUEUED", STATUS_WDF_QUEUED},
      {"STATUS_BUFFER_OVERFLOW", static_cast<uint32_t>(STATUS_BUFFER_OVERFLOW)},
      {"STATUS_NO_MORE_ENTRIES", static_cast<uint32_t>(STATUS_NO_MORE_ENTRIES)},
      {"STATUS_DEVICE_BUSY", static_cast<uint32_t>(STATUS_DEVICE_BUSY)},
      {"STATUS_UNSUCCESSFUL", static_cast<uint32_t>(STATUS_UNSUCCESSFUL)},
      {"STATUS_NOT_IMPLEMENTED", static_cast<uint32_t>(STATUS_NOT_IMPLEMENTED)},
      {"STATUS_INFO_LENGTH_MISMATCH", static_cast<uint32_t>(STATUS_INFO_LENGTH_MISMATCH)},
      {"STATUS_ACCESS_VIOLATION", static_cast<uint32_t>(STATUS_ACCESS_VIOLATION)},
      {"STATUS_INVALID_PARAMETER", static_cast<uint32_t>(STATUS_INVALID_PARAMETER)},
      {"STATUS_INVALID_DEVICE_REQUEST", static_cast<uint32_t>(STATUS_INVALID_DEVICE_REQUEST)},
      {"STATUS_BUFFER_TOO_SMALL", static_cast<uint32_t>(STATUS_BUFFER_TOO_SMALL)},
      {"STATUS_DELETE_PENDING", static_cast<uint32_t>(STATUS_DELETE_PENDING)},
      {"STATUS_INTEGER_OVERFLOW", static_cast<uint32_t>(STATUS_INTEGER_OVERFLOW)},
      {"STATUS_INSUFFICIENT_RESOURCES", static_cast<uint32_t>(STATUS_INSUFFICIENT_RESOURCES)},
      {"STATUS_DEVICE_DATA_ERROR", static_cast<uint32_t>(STATUS_DEVICE_DATA_ERROR)},
      {"STATUS_IO_TIMEOUT", static_cast<uint32_t>(STATUS_IO_TIMEOUT)},
      {"STATUS_NOT_SUPPORTED", static_cast<uint32_t>(STATUS_NOT_SUPPORTED)},
      {"STATUS_REQUEST_NOT_ACCEPTED", static_cast<uint32_t>(STATUS_REQUEST_NOT_ACCEPTED)},
      {"STATUS_INTERNAL_ERROR", static_cast<uint32_t>(STATUS_INTERNAL_ERROR)},
      {"STATUS_CANCELLED", static_cast<uint32_t>(STATUS_CANCELLED)},
      {"STATUS_INVALID_DEVICE_STATE", static_cast<uint32_t>(STATUS_INVALID_DEVICE_STATE)},
      {"STATUS_INVALID_BUFFER_SIZE", static_cast<uint32_t>(STATUS_INVALID_BUFFER_SIZE)},
      {"STATUS_WDF_INTERNAL_ERROR", static_cast<uint32_t>(STATUS_WDF_INTERNAL_ERROR)},
      {"STATUS_WDF_PAUSED", static_cast<uint32_t>(STATUS_WDF_PAUSED)},
      {"STATUS_WDF_BUSY", static_cast<uint32_t>(STATUS_WDF_BUSY)},
      {"STATUS_WDF_DEVICE_REMOVED_NOT_SENT", static_cast<uint32_t>(STATUS_WDF_DEVICE_REMOVED_NOT_SENT)},
      {"STATUS_WDF_REQUEST_INVALID_STATE", static_cast<uint32_t>(STATUS_WDF_REQUEST_INVALID_STATE)},
      {"STATUS_WDF_OBJECT_ATTRIBUTES_INVALID", static_cast<uint32_t>(STATUS_WDF_OBJECT_ATTRIBUTES_INVALID)},
      {"STATUS_WDF_TOO_FRAGMENTED", static_cast<uint32_t>(STATUS_WDF_TOO_FRAGMENTED)},
  };
  return names;
}

constexpr std::array<absl::string_view, 4> kMajorNames = {"read", "write", "ioctl", "internal_ioctl"};
constexpr std::array<absl::string_view, 4> kMethodNames = {"buffered", "in_direct", "out_direct", "neither"};
constexpr std::array<absl::string_view, 3> kIoTypeNames = {"buffered", "direct", "neither"};
constexpr std::array<absl::string_view, 3> kIrqlNames = {"passive", "apc", "dispatch"};
constexpr std::array<absl::string_view, 4> kAnswerNames = {"choices", "inline", "pend", "forever"};
constexpr std::array<absl::string_view, 3> kCancelModeNames = {"cancelled", "ignore", "normal"};
constexpr std::array<absl::string_view, 3> kSentIoActionNames = {"cancel", "wait", "leave"};
constexpr std::array<absl::string_view, 4> kSendKindNames = {"read", "write", "ioctl", "internal_ioctl"};
constexpr std::array<absl::string_view, 4> kWdmMajorNames = {"read", "write", "flush", "internal"};
constexpr std::array<absl::string_view, 6> kDispatchNames = {"complete", "pend",         "forward",
                                                             "skip",     "mark_success", "pend_unmarked"};
constexpr std::array<absl::string_view, 6> kRoutineNames = {"none",      "continue",    "more",
                                                            "free_more", "signal_more", "mark_continue"};
static_assert(kDispatchNames.size() == static_cast<size_t>(DispatchMode::kCount));
static_assert(kRoutineNames.size() == static_cast<size_t>(RoutineMode::kCount));
constexpr std::array<std::pair<absl::string_view, uint32_t>, 6> kAttrNames = {{{"cleanup", kAttrCleanup},
                                                                               {"destroy", kAttrDestroy},
                                                                               {"context", kAttrContext},
                                                                               {"bad_size", kAttrBadSize},
                                                                               {"zeroed", kAttrZeroed},
                                                                               {"none", kAttrNone}}};

uint32_t NormalizeArg(absl::string_view name, ArgKind kind, uint32_t value) {
  switch (kind) {
    case K::kSlot: return value % kSlots;
    case K::kHandle: return value % kHandleRefCount;
    case K::kU8:
      if (name == "stack_size") return value >= 1 && value <= 4 ? value : 1 + value % 4;  // idempotent
      if (name == "flags") return value & 0x1F;
      if (name == "action") return value % 3;
      if (name == "descriptor") return value % 4;
      return value & 0xFF;
    case K::kU16: return value & 0xFFFF;
    case K::kU32:
    case K::kI32:
    case K::kStatus: return value;
    case K::kAnswer: return value % 4;
    case K::kCancelMode: return value % 3;
    case K::kSentIoAction: return value % 3;
    case K::kSendKind: return value % 4;
    case K::kBool: return value & 1;
    case K::kAttrs: return value & kAttrMask;
    case K::kMajor: return value % static_cast<uint32_t>(Major::kCount);
    case K::kMethod: return value % 4;
    case K::kIoType: return value % 3;
    case K::kIrql: return value % 3;
    case K::kIrp: return value % kIrpSlots;
    case K::kDevice: return value % kDeviceSlots;
    case K::kWdmMajor: return value % kWdmMajorNames.size();
    case K::kDispatch: return value % kDispatchNames.size();
    case K::kRoutine: return value % kRoutineNames.size();
  }
  return value;
}

template <size_t N>
absl::string_view NameOf(const std::array<absl::string_view, N>& names, uint32_t value) {
  return value < N ? names[value] : "?";
}

std::string ArgToText(absl::string_view name, ArgKind kind, uint32_t value) {
  switch (kind) {
    case K::kSlot: return absl::StrCat("h", value);
    case K::kHandle:
      if (value < kSlots) return absl::StrCat("h", value);
      if (value == kNullHandle) return "null";
      if (value == kDriverHandle) return "driver";
      return "bogus";
    case K::kStatus: return StatusName(value);
    case K::kAttrs: {
      if (value == 0) return "0";
      std::string out;
      for (const auto& [n, bit] : kAttrNames) {
        if (value & bit) absl::StrAppend(&out, out.empty() ? "" : "|", n);
      }
      return out;
    }
    case K::kMajor: return std::string(NameOf(kMajorNames, value));
    case K::kMethod: return std::string(NameOf(kMethodNames, value));
    case K::kIoType: return std::string(NameOf(kIoTypeNames, value));
    case K::kIrql: return std::string(NameOf(kIrqlNames, value));
    case K::kAnswer: return std::string(NameOf(kAnswerNames, value));
    case K::kCancelMode: return std::string(NameOf(kCancelModeNames, value));
    case K::kSentIoAction: return std::string(NameOf(kSentIoActionNames, value));
    case K::kSendKind: return std::string(NameOf(kSendKindNames, value));
    case K::kI32: return absl::StrCat(static_cast<int32_t>(value));
    case K::kIrp: return absl::StrCat("i", value);
    case K::kDevice: return absl::StrCat("d", value);
    case K::kWdmMajor: return std::string(NameOf(kWdmMajorNames, value));
    case K::kDispatch: return std::string(NameOf(kDispatchNames, value));
    case K::kRoutine: return std::string(NameOf(kRoutineNames, value));
    default: (void)name; return absl::StrCat(value);
  }
}

template <size_t N>
bool Lookup(const std::array<absl::string_view, N>& names, absl::string_view text, uint32_t* value) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) {
      *value = static_cast<uint32_t>(i);
      return true;
    }
  }
  return false;
}

bool ParseNumber(absl::string_view text, uint32_t* value) {
  if (absl::ConsumePrefix(&text, "0x") || absl::ConsumePrefix(&text, "0X")) {
    uint64_t v;
    if (!absl::SimpleHexAtoi(text, &v) || v > 0xFFFFFFFFull) return false;
    *value = static_cast<uint32_t>(v);
    return true;
  }
  uint64_t v;
  if (!absl::SimpleAtoi(text, &v) || v > 0xFFFFFFFFull) return false;
  *value = static_cast<uint32_t>(v);
  return true;
}

// Parses one argument value; an error message on failure.
std::string ParseArg(ArgKind kind, absl::string_view text, uint32_t* value) {
  switch (kind) {
    case K::kSlot:
    case K::kHandle: {
      if (kind == K::kHandle) {
        if (text == "null") return (*value = kNullHandle), "";
        if (text == "driver") return (*value = kDriverHandle), "";
        if (text == "bogus") return (*value = kBogusHandle), "";
      }
      uint32_t slot;
      if (absl::ConsumePrefix(&text, "h") && absl::SimpleAtoi(text, &slot) && slot < kSlots) {
        *value = slot;
        return "";
      }
      return absl::StrFormat("expected a slot h0..h%d%s", kSlots - 1,
                             kind == K::kHandle ? ", null, driver or bogus" : "");
    }
    case K::kStatus:
      for (const auto& [name, v] : StatusNames()) {
        if (name == text) return (*value = v), "";
      }
      if (ParseNumber(text, value)) return "";
      return absl::StrFormat("unknown status '%s'", text);
    case K::kAttrs: {
      *value = 0;
      if (text == "0") return "";
      for (absl::string_view part : absl::StrSplit(text, '|')) {
        bool found = false;
        for (const auto& [n, bit] : kAttrNames) {
          if (n == part) {
            *value |= bit;
            found = true;
          }
        }
        if (!found) return absl::StrFormat("unknown attribute '%s'", part);
      }
      return "";
    }
    case K::kMajor: return Lookup(kMajorNames, text, value) ? "" : "expected read, write, ioctl or internal_ioctl";
    case K::kMethod:
      return Lookup(kMethodNames, text, value) ? "" : "expected buffered, in_direct, out_direct or neither";
    case K::kIoType: return Lookup(kIoTypeNames, text, value) ? "" : "expected buffered, direct or neither";
    case K::kIrql: return Lookup(kIrqlNames, text, value) ? "" : "expected passive, apc or dispatch";
    case K::kAnswer: return Lookup(kAnswerNames, text, value) ? "" : "expected choices, inline, pend or forever";
    case K::kCancelMode: return Lookup(kCancelModeNames, text, value) ? "" : "expected cancelled, ignore or normal";
    case K::kSentIoAction: return Lookup(kSentIoActionNames, text, value) ? "" : "expected cancel, wait or leave";
    case K::kSendKind:
      return Lookup(kSendKindNames, text, value) ? "" : "expected read, write, ioctl or internal_ioctl";
    case K::kIrp:
    case K::kDevice: {
      const bool irp = kind == K::kIrp;
      const uint32_t count = irp ? kIrpSlots : kDeviceSlots;
      uint32_t slot;
      if (absl::ConsumePrefix(&text, irp ? "i" : "d") && absl::SimpleAtoi(text, &slot) && slot < count) {
        *value = slot;
        return "";
      }
      return absl::StrFormat("expected %s0..%s%d", irp ? "i" : "d", irp ? "i" : "d", count - 1);
    }
    case K::kWdmMajor: return Lookup(kWdmMajorNames, text, value) ? "" : "expected read, write, flush or internal";
    case K::kDispatch:
      return Lookup(kDispatchNames, text, value)
                 ? ""
                 : "expected complete, pend, forward, skip, mark_success or pend_unmarked";
    case K::kRoutine:
      return Lookup(kRoutineNames, text, value)
                 ? ""
                 : "expected none, continue, more, free_more, signal_more or mark_continue";
    case K::kI32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return absl::StrFormat("expected a signed number, got '%s'", text);
      *value = static_cast<uint32_t>(v);
      return "";
    }
    default:
      if (!ParseNumber(text, value)) return absl::StrFormat("expected a number, got '%s'", text);
      return "";
  }
}

}  // namespace

const OpSpec& GetOpSpec(OpCode code) { return Specs()[static_cast<size_t>(code)]; }

const OpSpec* FindOpSpec(absl::string_view name) {
  for (const OpSpec& spec : Specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

uint32_t Op::arg(absl::string_view name) const {
  const OpSpec& spec = GetOpSpec(code);
  for (size_t i = 0; i < spec.args.size(); ++i) {
    if (spec.args[i].name == name) return args[i];
  }
  return 0;
}

void Op::set_arg(absl::string_view name, uint32_t value) {
  const OpSpec& spec = GetOpSpec(code);
  for (size_t i = 0; i < spec.args.size(); ++i) {
    if (spec.args[i].name == name) args[i] = NormalizeArg(name, spec.args[i].kind, value);
  }
}

Op Normalize(Op op) {
  if (static_cast<uint8_t>(op.code) >= static_cast<uint8_t>(OpCode::kCount)) op.code = OpCode::kRunReadyWork;
  const OpSpec& spec = GetOpSpec(op.code);
  for (size_t i = 0; i < kMaxArgs; ++i) {
    op.args[i] = i < spec.args.size() ? NormalizeArg(spec.args[i].name, spec.args[i].kind, op.args[i]) : 0;
  }
  return op;
}

bool UsesOnly(const Program& program, uint32_t op_count) {
  for (const Op& op : program.ops) {
    if (static_cast<uint32_t>(op.code) >= op_count) return false;
  }
  return true;
}

Program Decode(absl::Span<const uint8_t> bytes, uint32_t op_count) {
  Program program;
  if (bytes.size() < 2) return program;
  const size_t declared = bytes[0] | (size_t{bytes[1]} << 8);
  const size_t op_bytes = std::min(declared, bytes.size() - 2);
  const absl::Span<const uint8_t> ops = bytes.subspan(2, op_bytes);
  size_t pos = 0;
  while (pos < ops.size()) {
    Op op;
    op.code = static_cast<OpCode>(ops[pos++] % std::clamp<uint32_t>(op_count, 1, kAllOpCount));
    const OpSpec& spec = GetOpSpec(op.code);
    bool complete = true;
    for (size_t i = 0; i < spec.args.size(); ++i) {
      const size_t width = Width(spec.args[i].kind);
      if (pos + width > ops.size()) {
        complete = false;
        break;
      }
      uint32_t value = 0;
      for (size_t b = 0; b < width; ++b) value |= uint32_t{ops[pos + b]} << (8 * b);
      pos += width;
      op.args[i] = value;
    }
    if (!complete) break;
    program.ops.push_back(Normalize(op));
  }
  program.choices.assign(bytes.begin() + 2 + static_cast<std::ptrdiff_t>(op_bytes), bytes.end());
  return program;
}

std::vector<uint8_t> Encode(const Program& program) {
  std::vector<uint8_t> ops;
  for (const Op& raw : program.ops) {
    const Op op = Normalize(raw);
    ops.push_back(static_cast<uint8_t>(op.code));
    const OpSpec& spec = GetOpSpec(op.code);
    for (size_t i = 0; i < spec.args.size(); ++i) {
      for (size_t b = 0; b < Width(spec.args[i].kind); ++b) ops.push_back(static_cast<uint8_t>(op.args[i] >> (8 * b)));
    }
    if (ops.size() >= 0xFFFF) break;
  }
  if (ops.size() > 0xFFFF) ops.resize(0xFFFF);
  std::vector<uint8_t> out = {static_cast<uint8_t>(ops.size()), static_cast<uint8_t>(ops.size() >> 8)};
  out.insert(out.end(), ops.begin(), ops.end());
  out.insert(out.end(), program.choices.begin(), program.choices.end());
  return out;
}

std::string StatusName(uint32_t status) {
  for (const auto& [name, value] : StatusNames()) {
    if (value == status) return std::string(name);
  }
  return absl::StrFormat("0x%08X", status);
}

std::string OpToText(const Op& op) {
  const OpSpec& spec = GetOpSpec(op.code);
  std::string out(spec.name);
  for (size_t i = 0; i < spec.args.size(); ++i) {
    absl::StrAppend(&out, " ", spec.args[i].name, "=", ArgToText(spec.args[i].name, spec.args[i].kind, op.args[i]));
  }
  return out;
}

std::string ToText(const Program& program) {
  std::string out = absl::StrCat(kTextMagic, "\n");
  for (const Op& op : program.ops) absl::StrAppend(&out, OpToText(op), "\n");
  if (!program.choices.empty()) {
    out += "choices";
    for (uint8_t c : program.choices) absl::StrAppend(&out, " ", c);
    out += "\n";
  }
  return out;
}

bool IsText(absl::Span<const uint8_t> bytes) {
  if (bytes.size() < kTextMagic.size()) return false;
  return absl::string_view(reinterpret_cast<const char*>(bytes.data()), kTextMagic.size()) == kTextMagic;
}

absl::StatusOr<Program> ParseText(absl::string_view text) {
  Program program;
  int line_number = 0;
  bool saw_magic = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const absl::string_view full = line;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    auto column_of = [&](absl::string_view part) { return static_cast<int>(part.data() - full.data()) + 1; };
    std::vector<absl::string_view> words = absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    if (!saw_magic) {
      if (absl::StrJoin(words, " ") != kTextMagic) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%d:%d: expected the header line '%s'", line_number, column_of(words[0]), kTextMagic));
      }
      saw_magic = true;
      continue;
    }
    if (words[0] == "choices") {
      for (size_t i = 1; i < words.size(); ++i) {
        uint32_t value;
        if (!absl::SimpleAtoi(words[i], &value) || value > 255) {
          return absl::InvalidArgumentError(
              absl::StrFormat("%d:%d: a choice is a byte, 0 to 255", line_number, column_of(words[i])));
        }
        program.choices.push_back(static_cast<uint8_t>(value));
      }
      continue;
    }
    const OpSpec* spec = FindOpSpec(words[0]);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%d:%d: unknown op '%s'", line_number, column_of(words[0]), words[0]));
    }
    Op op;
    op.code = spec->code;
    std::vector<bool> given(spec->args.size(), false);
    for (size_t w = 1; w < words.size(); ++w) {
      const size_t eq = words[w].find('=');
      if (eq == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%d:%d: expected name=value, got '%s'", line_number, column_of(words[w]), words[w]));
      }
      const absl::string_view name = words[w].substr(0, eq);
      const absl::string_view value = words[w].substr(eq + 1);
      size_t index = spec->args.size();
      for (size_t i = 0; i < spec->args.size(); ++i) {
        if (spec->args[i].name == name) index = i;
      }
      if (index == spec->args.size()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%d:%d: %s has no argument '%s'", line_number, column_of(words[w]), spec->name, name));
      }
      uint32_t parsed = 0;
      const std::string error = ParseArg(spec->args[index].kind, value, &parsed);
      if (!error.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat("%d:%d: %s: %s", line_number, column_of(value), name, error));
      }
      op.args[index] = parsed;
      given[index] = true;
    }
    // Omitted arguments take defaults: handles null, stack size 1, else 0.
    for (size_t i = 0; i < spec->args.size(); ++i) {
      if (given[i]) continue;
      if (spec->args[i].kind == K::kHandle) op.args[i] = kNullHandle;
      if (spec->args[i].name == "stack_size") op.args[i] = 1;
    }
    program.ops.push_back(Normalize(op));
  }
  if (!saw_magic) return absl::InvalidArgumentError(absl::StrFormat("1:1: expected the header line '%s'", kTextMagic));
  return program;
}

}  // namespace wdfsim::program
