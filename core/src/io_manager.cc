// The simulated I/O manager's side of a request sent to the driver: it builds
// the IRP with the originator's buffer as the device's I/O type asks
// (SEMANTICS-WDM A.1.2, A.1.3), calls the driver's stack location, and wraps
// the IRP in a WDFREQUEST (SEMANTICS-WDF 4.1).
#include "io_manager.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "irp.h"
#include "request.h"
#include "thread.h"
#include "world.h"

namespace wdfsim::core {
namespace {

PMDL MakeMdl(void* buffer, ULONG length) {
  auto* mdl = static_cast<PMDL>(std::calloc(1, sizeof(MDL)));
  mdl->Size = sizeof(MDL);
  mdl->MdlFlags = MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA;
  mdl->StartVa = buffer;
  mdl->MappedSystemVa = buffer;
  mdl->ByteCount = length;
  return mdl;
}

void* CopyOf(const void* source, size_t length) {
  void* buffer = std::calloc(1, std::max<size_t>(length, 1));
  if (length > 0) memcpy(buffer, source, length);
  return buffer;
}

}  // namespace

Request& BuildIoRequest(World& world, const IoRequestSpec& spec, CCHAR stack_size, PDEVICE_OBJECT device) {
  stack_size = static_cast<CCHAR>(std::clamp<int>(stack_size, 1, 32));
  IRP* irp = AllocateIrp(world, stack_size, IrpOrigin::kIoManager);
  IrpRecord& record = *world.FindIrp(irp);
  const bool ioctl =
      spec.major_function == IRP_MJ_DEVICE_CONTROL || spec.major_function == IRP_MJ_INTERNAL_DEVICE_CONTROL;
  const size_t user_length = ioctl ? std::max(spec.input_length, spec.output_length) : static_cast<size_t>(spec.length);
  record.user_buffer_length = ioctl ? spec.output_length : spec.length;
  record.user_buffer = std::malloc(std::max<size_t>(user_length, 1));
  memset(record.user_buffer, spec.fill, std::max<size_t>(user_length, 1));
  record.outcome = static_cast<int>(world.io_outcomes().size());
  irp->RequestorMode = spec.kernel_mode_requestor ? KernelMode : UserMode;
  // A user request is threaded: it is on the application thread's IRP list.
  irp->Tail.Overlay.Thread = world.application_thread();
  QueueIrpToThread(*world.application_thread(), irp);

  // The I/O manager's IoCallDriver into the driver's stack location.
  IoSetNextIrpStackLocation(irp);
  PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
  location->MajorFunction = spec.major_function;
  location->DeviceObject = device;
  if (ioctl) {
    location->Parameters.DeviceIoControl.IoControlCode = spec.io_control_code;
    location->Parameters.DeviceIoControl.InputBufferLength = spec.input_length;
    location->Parameters.DeviceIoControl.OutputBufferLength = spec.output_length;
    const ULONG method = METHOD_FROM_CTL_CODE(spec.io_control_code);
    if (method == METHOD_NEITHER) {
      location->Parameters.DeviceIoControl.Type3InputBuffer = spec.input_length ? record.user_buffer : nullptr;
      irp->UserBuffer = spec.output_length ? record.user_buffer : nullptr;
    } else {
      const size_t system_length = method == METHOD_BUFFERED ? user_length : spec.input_length;
      if (system_length > 0) {
        irp->AssociatedIrp.SystemBuffer = CopyOf(record.user_buffer, system_length);
        record.system_buffer_length = system_length;
        irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
      }
      if (method == METHOD_BUFFERED) {
        if (spec.output_length > 0) irp->Flags |= IRP_INPUT_OPERATION;
        irp->UserBuffer = record.user_buffer;
      } else if (spec.output_length > 0) {
        irp->MdlAddress = MakeMdl(record.user_buffer, spec.output_length);
      }
    }
  } else if (spec.major_function == IRP_MJ_READ || spec.major_function == IRP_MJ_WRITE) {
    if (spec.major_function == IRP_MJ_READ) {
      location->Parameters.Read.Length = spec.length;
    } else {
      location->Parameters.Write.Length = spec.length;
    }
    switch (spec.io_type) {
      case IoType::kBuffered:
        irp->AssociatedIrp.SystemBuffer = CopyOf(record.user_buffer, spec.length);
        record.system_buffer_length = spec.length;
        irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        if (spec.major_function == IRP_MJ_READ) irp->Flags |= IRP_INPUT_OPERATION;
        irp->UserBuffer = record.user_buffer;
        break;
      case IoType::kDirect:
        if (spec.length > 0) irp->MdlAddress = MakeMdl(record.user_buffer, spec.length);
        break;
      case IoType::kNeither: irp->UserBuffer = record.user_buffer; break;
    }
  }

  auto* request = new Request(world, Request::Allocation::kFromIo);
  request->Commit(nullptr);
  request->AttachPresentedIrp(irp, record.outcome, spec.io_type, spec.kernel_mode_requestor);
  IoOutcome outcome;
  outcome.request = static_cast<WDFREQUEST>(request->handle());
  outcome.request_serial = request->serial();
  outcome.major_function = spec.major_function;
  world.io_outcomes().push_back(outcome);
  world.Log(EventKind::kRequestPresented, Ddi::kPresentRequest, request->serial(), spec.major_function, record.serial);
  return *request;
}

WDFREQUEST PresentRequest(World& world, const IoRequestSpec& spec) {
  Request& request = BuildIoRequest(world, spec, spec.stack_size, nullptr);
  request.set_presented();
  return static_cast<WDFREQUEST>(request.handle());
}

}  // namespace wdfsim::core
