// WDFREQUEST (FxRequest): its kinds, its IRP, the verifier's ownership flags,
// completion (CompleteInternal), reuse, and the WDFMEMORY objects embedded in
// it for the IRP's buffers (SEMANTICS-WDF 3.5, 4.1, 4.6-4.8, 4.10).
#ifndef WDFSIM_CORE_REQUEST_H_
#define WDFSIM_CORE_REQUEST_H_

#include <cstdint>

#include "memory.h"
#include "object.h"
#include "wdfsim/harness/simulation.h"

namespace wdfsim::core {

class Request;
class IoTarget;
class Queue;
class FileObject;
struct SyncWait;

// The request's input (system) buffer or ioctl output buffer as a WDFMEMORY
// (FxRequestSystemBuffer / FxRequestOutputBuffer). Its references are the
// request's IRP references; it lives exactly as long as the request.
class RequestMemory final : public MemoryBase {
 public:
  enum class Which { kSystemBuffer, kOutputBuffer };
  RequestMemory(World& world, Request& request, Which which);
  void* buffer() const override;
  size_t size() const override;
  bool read_only() const override;
  Request& request() const { return request_; }
  // False once the request has no IRP: its buffers are read through the IRP.
  bool available() const;
  void AddRef() override;
  void Release(Ddi ddi) override;
  // WdfObjectDelete resolves an embedded memory handle to its request.
  void Delete(Ddi ddi) override;

 private:
  Request& request_;
  Which which_;
};

class Request final : public Object {
 public:
  // m_IrpAllocation (SEMANTICS-WDF 4.1).
  enum class Allocation { kFromIo, kInternal, kDriver };

  Request(World& world, Allocation allocation);
  ~Request() override;

  Allocation allocation() const { return allocation_; }
  bool from_io() const { return allocation_ == Allocation::kFromIo; }
  IRP* irp() const { return irp_; }
  // Attaches the I/O manager's IRP to a presented request.
  void AttachPresentedIrp(IRP* irp, int outcome, IoType io_type, bool kernel_mode_requestor);

  // Verifier flags and state.
  bool driver_owned() const { return driver_owned_; }
  bool completed() const { return completed_; }
  bool sent_to_target() const { return sent_to_target_; }
  bool cancelable() const { return cancelable_; }
  bool can_complete() const { return can_complete_; }
  int32_t irp_references() const { return irp_references_; }
  int outcome() const { return outcome_; }
  // Set once the request was completed with WdfRequestComplete*.
  bool was_completed_by_driver() const { return completed_by_driver_; }

  // The major function and parameters of the driver's stack location.
  UCHAR major_function() const { return major_; }
  const IO_STACK_LOCATION& parameters() const { return parameters_; }
  IoType io_type() const { return io_type_; }
  bool user_mode_requestor() const { return !kernel_mode_requestor_; }
  void* captured_system_buffer() const { return system_buffer_pointer_; }
  void* captured_output_buffer() const { return output_buffer_pointer_; }

  // m_IrpReferenceCount (AddIrpReference / ReleaseIrpReference).
  void AddIrpReference(Ddi ddi);
  void ReleaseIrpReference(Ddi ddi);

  RequestMemory& SystemBufferMemory();
  RequestMemory& OutputBufferMemory();

  // WdfRequestComplete* after the DDI's verifier checks passed.
  void CompleteInternal(NTSTATUS status, CCHAR boost, Ddi ddi);
  // WdfRequestReuse after parameter validation.
  NTSTATUS Reuse(const WDF_REQUEST_REUSE_PARAMS& params, Ddi ddi);

  void SetCompletionRoutine(PFN_WDF_REQUEST_COMPLETION_ROUTINE routine, WDFCONTEXT context) {
    completion_routine_ = routine;
    completion_context_ = context;
  }
  PFN_WDF_REQUEST_COMPLETION_ROUTINE completion_routine() const { return completion_routine_; }
  // The formatted context (FxRequestContext) exists only after a
  // WdfIoTargetFormatRequest* call.
  bool has_context() const { return context_.present; }
  const WDF_REQUEST_COMPLETION_PARAMS& completion_params() const { return context_.params; }
  // FxRequestContext::ReleaseAndRestore: WDFMEMORY references dropped, the
  // IRP's buffer fields restored, the params back to NoFormat.
  void ReleaseAndRestore();
  // FxRequestBase::SetContext from a synchronous DDI: the old context is
  // released and deleted; afterwards the request has none.
  void DeleteContext() {
    ReleaseAndRestore();
    context_.present = false;
  }
  IoTarget* target() const { return target_; }
  bool canceled() const { return canceled_; }
  int32_t completion_references() const { return completion_refs_; }
  // A reference the framework takes and gives back itself: the target's while
  // the request is sent, a completion's across its walk, a synchronous send's,
  // a cancel's. The last reference going while one is held is an
  // over-release by the driver (FinalRelease reports it).
  void Hold() {
    AddRef();
    ++framework_holds_;
  }
  void Unhold(Ddi ddi) {
    --framework_holds_;
    Release(ddi);
  }
  // WdfRequestCancelSentRequest on a request never sent: the cancel sticks.
  void MarkCanceled() { canceled_ = true; }
  // WdfRequestFormatRequestUsingCurrentType: formatted without a context.
  void MarkNextStackFormatted() {
    next_stack_formatted_ = true;
    formatted_ = true;
  }

  // ---- Queues (SEMANTICS-WDF 5) ----
  // The queue that holds the request, or that presented it to the driver.
  Queue* queue() const { return queue_; }
  void set_queue(Queue* queue) { queue_ = queue; }
  void set_driver_owned(bool owned) { driver_owned_ = owned; }
  // Presented to the driver at least once (EvtIoCanceledOnQueue needs it).
  bool presented() const { return presented_; }
  void set_presented();
  // The driver deferred it: sent, forwarded, requeued or marked cancelable.
  bool deferred() const { return deferred_; }
  void set_deferred() { deferred_ = true; }
  FileObject* file_object() const { return file_object_; }
  void set_file_object(FileObject* file_object) { file_object_ = file_object; }
  // WdfRequestMarkCancelable(Ex): the driver's EvtRequestCancel, and the
  // IRP's cancel routine set to the framework's.
  PFN_WDF_REQUEST_CANCEL cancel_routine() const { return cancel_routine_; }
  void MarkCancelable(PFN_WDF_REQUEST_CANCEL routine);
  // Unmark, or the cancel routine took the request: no longer cancelable.
  void ClearCancelable() {
    cancelable_ = false;
    cancel_routine_ = nullptr;
  }
  // The cancel routine ran (or will): WdfRequestUnmarkCancelable returns
  // STATUS_CANCELLED and completing is the cancel routine's job.
  bool cancel_routine_started() const { return cancel_started_; }
  void set_cancel_routine_started() { cancel_started_ = true; }

  // The framework completes a request the driver does not (or no longer)
  // hold: refused, canceled on a queue, zero-length, no callback for it.
  // Information 0; the request leaves its queue.
  void CompleteByFramework(NTSTATUS status, Ddi ddi);
  // The IRP leaves the framework without a completion (a filter passes it
  // down): the request object goes, the IRP is the lower driver's.
  void ReleaseWithoutCompletion(Ddi ddi);

  void Delete(Ddi ddi) override;

 protected:
  void Dispose() override;
  // The request's embedded WDFMEMORY dies with it: a reference still held
  // on it (by a driver or a formatted sub-request) would dangle.
  void FinalRelease(Ddi ddi) override;

 private:
  friend class IoTarget;

  // FxRequestContext / FxIoContext: what a format attached to the request.
  struct FormatContext {
    bool present = false;
    WDF_REQUEST_COMPLETION_PARAMS params{};
    MemoryBase* memory = nullptr;        // m_RequestMemory, referenced
    MemoryBase* other_memory = nullptr;  // an ioctl's output memory, referenced
    bool saved = false;                  // the IRP fields below were saved
    PVOID saved_system_buffer = nullptr;
    PVOID saved_user_buffer = nullptr;
    PMDL saved_mdl = nullptr;
    ULONG saved_flags = 0;
    void* double_buffer = nullptr;  // the pool copy buffered I/O sends
    void* copy_back_to = nullptr;   // where data read into it goes at completion
    size_t copy_back_length = 0;
    PMDL mdl = nullptr;  // allocated for direct I/O
  };

  Allocation allocation_;
  IRP* irp_ = nullptr;
  int outcome_ = -1;
  UCHAR major_ = 0;
  IO_STACK_LOCATION parameters_{};
  IoType io_type_ = IoType::kBuffered;
  bool kernel_mode_requestor_ = false;
  void* system_buffer_pointer_ = nullptr;
  void* output_buffer_pointer_ = nullptr;

  bool completed_ = true;  // m_Completed: TRUE while there is no IRP
  bool canceled_ = false;
  bool can_complete_ = false;
  bool driver_owned_ = false;
  bool sent_to_target_ = false;
  bool cancelable_ = false;
  FormatContext context_;
  // FxRequestBase's send state.
  IoTarget* target_ = nullptr;
  int32_t completion_refs_ = 0;  // m_IrpCompletionReferenceCount
  int32_t framework_holds_ = 0;  // references taken by Hold and not yet given back
  uint32_t target_flags_ = 0;    // FX_REQUEST_COMPLETED, TIMER_SET, CANCELLED_FROM_TIMER, IGNORE_STATE
  bool formatted_ = false;       // FXREQUEST_FLAG_FORMATTED
  bool next_stack_formatted_ = false;
  uint64_t timer_work_ = 0;  // the timer's expiry or DPC work, 0 if none
  bool timer_dpc_queued_ = false;
  SyncWait* sync_ = nullptr;  // set while a synchronous send waits on it
  bool completed_by_driver_ = false;
  int32_t irp_references_ = 0;
  PFN_WDF_REQUEST_COMPLETION_ROUTINE completion_routine_ = nullptr;
  WDFCONTEXT completion_context_ = nullptr;
  RequestMemory* system_buffer_ = nullptr;
  RequestMemory* output_buffer_ = nullptr;
  Queue* queue_ = nullptr;
  bool presented_ = false;
  bool deferred_ = false;
  bool cancel_started_ = false;
  FileObject* file_object_ = nullptr;
  PFN_WDF_REQUEST_CANCEL cancel_routine_ = nullptr;
};

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_REQUEST_H_
