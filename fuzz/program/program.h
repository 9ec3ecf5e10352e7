// The program language: what a driver does (DDI calls with their arguments)
// and what the harness does (present a request, set the IRQL, let time pass,
// unload), as a list of ops, plus the bytes that answer the simulation's
// choices. One encoding serves libFuzzer, RapidCheck, the corpus and replay:
// a total decoder from bytes, an encoder, and a text form a person can read
// and write.
#ifndef WDFSIM_FUZZ_PROGRAM_PROGRAM_H_
#define WDFSIM_FUZZ_PROGRAM_PROGRAM_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace wdfsim::program {

// Programs name objects through slots h0..h7; a handle argument may also be
// one of the special values below.
inline constexpr uint32_t kSlots = 8;
enum HandleRef : uint32_t {
  kNullHandle = kSlots,  // NULL
  kDriverHandle,         // WdfGetDriver()
  kBogusHandle,          // a value the framework never issued
  kHandleRefCount,
};

// Bits of an `attrs` argument (how WDF_OBJECT_ATTRIBUTES is built).
enum AttributeBits : uint32_t {
  kAttrCleanup = 0x1,  // EvtCleanupCallback set
  kAttrDestroy = 0x2,  // EvtDestroyCallback set
  kAttrContext = 0x4,  // the program's context type
  kAttrBadSize = 0x8,  // Size one too small
  kAttrZeroed = 0x10,  // memset instead of WDF_OBJECT_ATTRIBUTES_INIT
  kAttrNone = 0x20,    // WDF_NO_OBJECT_ATTRIBUTES (the parent is ignored)
  kAttrMask = 0x3F,
};

// Requests the harness presents.
enum class Major : uint32_t { kRead, kWrite, kDeviceControl, kInternalDeviceControl, kCount };

enum class OpCode : uint8_t {
  kMemoryCreate,
  kMemoryCreatePreallocated,
  kMemoryAssignBuffer,
  kMemoryGetBuffer,
  kMemoryCopyToBuffer,
  kMemoryCopyFromBuffer,
  kObjectReference,
  kObjectDereference,
  kObjectDelete,
  kObjectGetContext,
  kRequestCreate,
  kRequestReuse,
  kRequestComplete,
  kRequestCompleteWithInformation,
  kRequestCompleteWithPriorityBoost,
  kRequestGetStatus,
  kRequestGetInformation,
  kRequestSetInformation,
  kRequestGetCompletionParams,
  kRequestSetCompletionRoutine,
  kRequestRetrieveInputMemory,
  kRequestRetrieveOutputMemory,
  kRequestRetrieveInputBuffer,
  kRequestRetrieveOutputBuffer,
  kPresent,
  kSetIrql,
  kAdvanceTime,
  kRunReadyWork,
  kUnload,
  // Sending: targets over scripted lower devices (SEMANTICS-WDF 1, 2, 4.2-4.5).
  kTargetCreate,
  kTargetStart,
  kTargetStop,
  kTargetPurge,
  kTargetClose,
  kTargetGetState,
  kFormatRead,
  kFormatWrite,
  kFormatIoctl,
  kFormatUsingCurrentType,
  kRequestSend,
  kRequestCancelSent,
  kRequestChangeTarget,
  kSendSynchronously,
  kThreadExit,
  kPassTime,
  // The WDM IRP layer (SEMANTICS-WDM part A): devices, IRPs the program
  // builds, sends, completes, cancels and frees itself.
  kWdmLowerDevice,
  kWdmFilterDevice,
  kIrpBuildSync,
  kIrpBuildAsync,
  kIrpBuildIoctl,
  kIrpAllocate,
  kIrpFree,
  kIrpReuse,
  kIrpSetCompletion,
  kIoCallDriver,
  kIoComplete,
  kIoCancel,
  kIrpSetCancelRoutine,
  kIrpMarkPending,
  kIrpWait,
  kIrpReadIosb,
  kIrpReadEvent,
  kAllocationFailures,
  // More of the WDF language (SEMANTICS-WDF 7 cases 4 and 8).
  kSendSynchronouslyDescribed,
  kTargetControlLater,
  kCount,
};

// The ops of the request-lifecycle slice: the reference model's domain and
// request_lifecycle_fuzzer's language.
inline constexpr uint32_t kLifecycleOpCount = static_cast<uint32_t>(OpCode::kUnload) + 1;
// The ops up to the WDM layer: the WDF language of io_target_fuzzer and the
// sending reference model. (The WDF ops added after the WDM layer are the
// whole language's.)
inline constexpr uint32_t kWdfOpCount = static_cast<uint32_t>(OpCode::kPassTime) + 1;
inline constexpr uint32_t kAllOpCount = static_cast<uint32_t>(OpCode::kCount);

// Programs name WDM objects through their own slots: IRPs i0..i7 and
// devices d0..d3.
inline constexpr uint32_t kIrpSlots = 8;
inline constexpr uint32_t kDeviceSlots = 4;

// How an argument is encoded and written.
enum class ArgKind : uint8_t {
  kSlot,          // 1 byte: h0..h7, the slot an op writes
  kHandle,        // 1 byte: h0..h7, null, driver, bogus
  kU8,            // 1 byte
  kU16,           // 2 bytes, little-endian
  kU32,           // 4 bytes, little-endian
  kStatus,        // 4 bytes: an NTSTATUS, written by name where it has one
  kBool,          // 1 byte: 0 or 1
  kAttrs,         // 1 byte: AttributeBits
  kMajor,         // 1 byte: read, write, ioctl, internal_ioctl
  kMethod,        // 1 byte: buffered, in_direct, out_direct, neither
  kIoType,        // 1 byte: buffered, direct, neither
  kIrql,          // 1 byte: passive, apc, dispatch
  kAnswer,        // 1 byte: a lower device's answer: choices, inline, pend, forever
  kCancelMode,    // 1 byte: cancelled, ignore, normal
  kSentIoAction,  // 1 byte: cancel, wait, leave
  kSendKind,      // 1 byte: read, write, ioctl, internal_ioctl
  kI32,           // 4 bytes: a signed value (a timeout in ms: negative relative, positive absolute)
  kIrp,           // 1 byte: i0..i7
  kDevice,        // 1 byte: d0..d3
  kWdmMajor,      // 1 byte: read, write, flush, internal (IRP_MJ_INTERNAL_DEVICE_CONTROL, = IRP_MJ_SCSI)
  kDispatch,      // 1 byte: what a filter device's dispatch routine does (DispatchMode)
  kRoutine,       // 1 byte: what a program's IRP completion routine does (RoutineMode)
};

// A filter device's dispatch routine, for each IRP it receives.
enum class DispatchMode : uint32_t {
  kComplete,           // IoCompleteRequest(status, information), return status
  kPend,               // IoMarkIrpPending, the IRP into the `arrive` slot, STATUS_PENDING
  kForward,            // copy the location, a completion routine, IoCallDriver(lower)
  kSkip,               // skip the location, IoCallDriver(lower)
  kMarkReturnSuccess,  // IoMarkIrpPending, complete, return STATUS_SUCCESS (MarkIrpPending)
  kPendUnmarked,       // the IRP into `arrive`, STATUS_PENDING without marking (MarkIrpPending2)
  kCount,
};

// A program's completion routine on an IRP it created.
enum class RoutineMode : uint32_t {
  kNone,          // no routine (IoSetCompletionRoutine with NULL)
  kContinue,      // return STATUS_CONTINUE_COMPLETION
  kMore,          // return STATUS_MORE_PROCESSING_REQUIRED: the program owns the IRP again
  kFreeMore,      // IoFreeIrp, then STATUS_MORE_PROCESSING_REQUIRED (the IoAllocateIrp pattern)
  kSignalMore,    // KeSetEvent on the slot's event, STATUS_MORE_PROCESSING_REQUIRED (forward and wait)
  kMarkContinue,  // IoMarkIrpPending if PendingReturned, STATUS_CONTINUE_COMPLETION
  kCount,
};

inline constexpr size_t kMaxArgs = 10;

struct ArgSpec {
  absl::string_view name;
  ArgKind kind;
};

struct OpSpec {
  OpCode code;
  absl::string_view name;
  std::vector<ArgSpec> args;
};

// The schema of every op: its name and its arguments, in encoding order.
const OpSpec& GetOpSpec(OpCode code);
const OpSpec* FindOpSpec(absl::string_view name);

struct Op {
  OpCode code = OpCode::kRunReadyWork;
  std::array<uint32_t, kMaxArgs> args{};
  // The value of the argument named `name` (0 if the op has none).
  uint32_t arg(absl::string_view name) const;
  void set_arg(absl::string_view name, uint32_t value);
  bool operator==(const Op& other) const = default;
};

struct Program {
  std::vector<Op> ops;
  std::vector<uint8_t> choices;  // answers for the simulation's ChoiceSource
  bool operator==(const Program& other) const = default;
};

// Reduces each argument to its valid range (what the decoder does), so that
// Encode(Decode(x)) is a fixed point.
Op Normalize(Op op);

// Total: any bytes decode to a program. Layout: a 2-byte little-endian length
// P of the op section (clamped), P bytes of ops (opcode byte modulo
// `op_count`, then each argument's bytes; a truncated last op is dropped),
// then the choice bytes.
Program Decode(absl::Span<const uint8_t> bytes, uint32_t op_count = kAllOpCount);
// True if every op is one of the first `op_count` codes.
bool UsesOnly(const Program& program, uint32_t op_count);
std::vector<uint8_t> Encode(const Program& program);

// The text form: a first line "wdfsim-program 1", then one op per line
// ("memory_create dst=h0 size=16 parent=driver pool=0 attrs=cleanup|context"),
// optionally a "choices 1 0 3" line; '#' starts a comment.
inline constexpr absl::string_view kTextMagic = "wdfsim-program 1";
std::string ToText(const Program& program);
// Errors name the line and column: "3:14: unknown status 'STATUS_FOO'".
absl::StatusOr<Program> ParseText(absl::string_view text);
// True if the bytes look like the text form (they start with kTextMagic).
bool IsText(absl::Span<const uint8_t> bytes);

// One op as text, without a newline.
std::string OpToText(const Op& op);
// An NTSTATUS by name ("STATUS_SUCCESS") or as 0x%08X.
std::string StatusName(uint32_t status);

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_PROGRAM_PROGRAM_H_
