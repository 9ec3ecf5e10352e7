#include "device.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "io_manager.h"
#include "io_target.h"
#include "irp.h"
#include "object_attributes.h"
#include "queue.h"
#include "request.h"
#include "world.h"

namespace wdfsim::core {

FileObject::FileObject(World& world, uint32_t id) : Object(world, ObjectType::kFileObject), id_(id) {
  set_no_delete_ddi();
}

Device::Device(World& world, const WDFDEVICE_INIT& init)
    : Object(world, ObjectType::kDevice), lower_(init.lower), filter_(init.filter) {
  set_no_delete_ddi();  // a PnP device goes away with its stack, not WdfObjectDelete
  PDEVICE_OBJECT lower_object = lower_->device();
  device_object_.Type = 3;  // IO_TYPE_DEVICE
  device_object_.Size = sizeof(DEVICE_OBJECT);
  device_object_.DriverObject = &world.driver()->driver_object();
  device_object_.StackSize = static_cast<CCHAR>(lower_object->StackSize + 1);
  switch (init.io_type) {
    case WdfDeviceIoDirect: io_type_ = IoType::kDirect; break;
    case WdfDeviceIoNeither: io_type_ = IoType::kNeither; break;
    default: io_type_ = IoType::kBuffered; break;
  }
  if (io_type_ == IoType::kBuffered) device_object_.Flags |= DO_BUFFERED_IO;
  if (io_type_ == IoType::kDirect) device_object_.Flags |= DO_DIRECT_IO;
  lower_object->AttachedDevice = &device_object_;
  io_target_ = new IoTarget(world, lower_object);
  io_target_->set_no_delete_ddi();  // the default target belongs to the device
}

void Device::RemoveQueue(Queue* queue) {
  queues_.erase(std::remove(queues_.begin(), queues_.end(), queue), queues_.end());
  if (default_queue_ == queue) default_queue_ = nullptr;
  for (Queue*& slot : dispatch_) {
    if (slot == queue) slot = nullptr;
  }
}

Queue* Device::QueueFor(UCHAR major) const {
  if (major <= IRP_MJ_MAXIMUM_FUNCTION && dispatch_[major] != nullptr) return dispatch_[major];
  return default_queue_;
}

FileObject* Device::FileObjectFor(uint32_t id) {
  auto it = file_objects_.find(id);
  if (it != file_objects_.end()) return it->second;
  auto* file_object = new FileObject(world(), id);
  file_object->Commit(this);
  file_objects_.emplace(id, file_object);
  return file_object;
}

void Device::Dispatch(Request& request) {
  Queue* queue = QueueFor(request.major_function());
  if (queue != nullptr) {
    (void)queue->QueueRequest(request, /*forwarded=*/false, Ddi::kSendRequest);
    return;
  }
  if (filter_) {
    // A filter's framework passes requests it has no queue for down the stack.
    IRP* irp = request.irp();
    request.ReleaseWithoutCompletion(Ddi::kSendRequest);
    IoSkipCurrentIrpStackLocation(irp);
    (void)IoCallDriver(lower_->device(), irp);
    return;
  }
  request.CompleteByFramework(STATUS_INVALID_DEVICE_REQUEST, Ddi::kSendRequest);
}

void Device::Dispose() {
  if (lower_ != nullptr && lower_->device()->AttachedDevice == &device_object_) {
    lower_->device()->AttachedDevice = nullptr;
  }
  Object::Dispose();
}

NTSTATUS LoadDriver(World& world, PDRIVER_INITIALIZE driver_entry) {
  world.EnterDdi(Ddi::kLoadDriver);
  if (driver_entry == nullptr) return STATUS_INVALID_PARAMETER;
  static constexpr char kPath[] = "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\wdfsim";
  static WCHAR path[sizeof(kPath)];
  for (size_t i = 0; i < sizeof(kPath); ++i) path[i] = static_cast<WCHAR>(kPath[i]);
  UNICODE_STRING registry_path;
  registry_path.Buffer = path;
  registry_path.Length = static_cast<USHORT>((sizeof(kPath) - 1) * sizeof(WCHAR));
  registry_path.MaximumLength = static_cast<USHORT>(sizeof(kPath) * sizeof(WCHAR));
  DRIVER_OBJECT& driver_object = world.driver()->driver_object();
  driver_object.DriverInit = driver_entry;
  return driver_entry(&driver_object, &registry_path);
}

WDFDEVICE AddDevice(World& world, LowerDevice& lower, NTSTATUS* status_out) {
  world.EnterDdi(Ddi::kAddDevice);
  Driver* driver = world.driver();
  NTSTATUS status = STATUS_UNSUCCESSFUL;
  Device* device = nullptr;
  if (driver != nullptr && driver->created() && driver->config().EvtDriverDeviceAdd != nullptr) {
    WDFDEVICE_INIT init;
    init.lower = &lower;
    const size_t before = driver->devices().size();
    world.Log(EventKind::kQueueCallback, Ddi::kAddDevice, 0, static_cast<int64_t>(QueueCallback::kDeviceAdd), 0);
    status = driver->config().EvtDriverDeviceAdd(static_cast<WDFDRIVER>(driver->handle()), &init);
    if (driver->devices().size() > before) device = driver->devices().back();
  }
  if (status_out != nullptr) *status_out = status;
  return NT_SUCCESS(status) && device != nullptr ? static_cast<WDFDEVICE>(device->handle()) : nullptr;
}

size_t SendRequest(World& world, WDFDEVICE handle, const IoRequestSpec& spec) {
  world.EnterDdi(Ddi::kSendRequest, handle);
  auto* device = static_cast<Device*>(world.Resolve(handle, Ddi::kSendRequest, {ObjectType::kDevice}));
  IoRequestSpec built = spec;
  built.io_type = device->io_type();
  Request& request = BuildIoRequest(world, built, device->device_object()->StackSize, device->device_object());
  const size_t outcome = static_cast<size_t>(request.outcome());
  if (spec.file_object != 0) request.set_file_object(device->FileObjectFor(spec.file_object));
  request.set_driver_owned(false);
  // The framework's dispatch routine returns STATUS_PENDING for a queued IRP.
  IoMarkIrpPending(request.irp());
  device->Dispatch(request);
  return outcome;
}

void PowerDown(World& world, WDFDEVICE handle) {
  world.EnterDdi(Ddi::kPowerDown, handle);
  auto* device = static_cast<Device*>(world.Resolve(handle, Ddi::kPowerDown, {ObjectType::kDevice}));
  const std::vector<Queue*> queues = device->queues();
  for (Queue* queue : queues) queue->PowerOff(Ddi::kPowerDown);
  // The framework keeps the device in D0 until every power-managed queue
  // has nothing the driver still works on.
  world.WaitUntil(
      [device] {
        const std::vector<Queue*> now = device->queues();
        return std::all_of(now.begin(), now.end(), [](const Queue* queue) { return queue->PowerOffDone(); });
      },
      INT64_MAX, Ddi::kPowerDown, "the device leaving D0");
}

void PowerUp(World& world, WDFDEVICE handle) {
  world.EnterDdi(Ddi::kPowerUp, handle);
  auto* device = static_cast<Device*>(world.Resolve(handle, Ddi::kPowerUp, {ObjectType::kDevice}));
  const std::vector<Queue*> queues = device->queues();
  for (Queue* queue : queues) queue->PowerOn(Ddi::kPowerUp);
}

bool CancelRequest(World& world, size_t outcome) {
  world.EnterDdi(Ddi::kCancelRequest);
  if (outcome >= world.io_outcomes().size() || world.io_outcomes()[outcome].completions > 0) return false;
  IRP* irp = nullptr;
  world.ForEachIrp([&](const IRP* candidate, IrpRecord& record) {
    if (!record.freed && record.origin == IrpOrigin::kIoManager && record.outcome == static_cast<int>(outcome)) {
      irp = const_cast<IRP*>(candidate);
    }
  });
  if (irp == nullptr) return false;
  world.Log(EventKind::kNote, Ddi::kCancelRequest, 0,
            world.trace().AddNote(absl::StrFormat("the originator cancels request %d", outcome)));
  (void)CancelIrp(world, irp, Ddi::kCancelRequest);
  return true;
}

}  // namespace wdfsim::core

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::Device;
using wdfsim::core::ObjectType;
using wdfsim::core::World;

namespace {

Device* ResolveDevice(World& w, WDFDEVICE handle, Ddi ddi) {
  return static_cast<Device*>(w.Resolve(handle, ddi, {ObjectType::kDevice}));
}

}  // namespace

NTSTATUS WdfDriverCreate(PDRIVER_OBJECT DriverObject, PCUNICODE_STRING RegistryPath,
                         PWDF_OBJECT_ATTRIBUTES DriverAttributes, PWDF_DRIVER_CONFIG DriverConfig, WDFDRIVER* Driver) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDriverCreate);
  w.RequireNotNull(DriverObject, Ddi::kWdfDriverCreate, "DriverObject");
  w.RequireNotNull(RegistryPath, Ddi::kWdfDriverCreate, "RegistryPath");
  w.RequireNotNull(DriverConfig, Ddi::kWdfDriverCreate, "DriverConfig");
  wdfsim::core::Driver* driver = w.driver();
  if (DriverConfig->Size != sizeof(WDF_DRIVER_CONFIG)) return STATUS_INFO_LENGTH_MISMATCH;
  if (driver->created()) return STATUS_DRIVER_INTERNAL_ERROR;
  driver->ApplyAttributes(DriverAttributes);
  driver->Create(*DriverConfig);
  if (Driver != nullptr) *Driver = static_cast<WDFDRIVER>(driver->handle());
  return STATUS_SUCCESS;
}

VOID WdfDeviceInitSetIoType(PWDFDEVICE_INIT DeviceInit, WDF_DEVICE_IO_TYPE IoType) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceInitSetIoType);
  w.RequireNotNull(DeviceInit, Ddi::kWdfDeviceInitSetIoType, "DeviceInit");
  // WdfDeviceIoBufferedOrDirect (1.13+) is buffered for reads and writes here.
  DeviceInit->io_type = IoType == WdfDeviceIoBufferedOrDirect ? WdfDeviceIoBuffered : IoType;
}

VOID WdfFdoInitSetFilter(PWDFDEVICE_INIT DeviceInit) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfFdoInitSetFilter);
  w.RequireNotNull(DeviceInit, Ddi::kWdfFdoInitSetFilter, "DeviceInit");
  DeviceInit->filter = true;
}

NTSTATUS WdfDeviceCreate(PWDFDEVICE_INIT* DeviceInit, PWDF_OBJECT_ATTRIBUTES DeviceAttributes, WDFDEVICE* Device) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceCreate);
  w.RequireNotNull(DeviceInit, Ddi::kWdfDeviceCreate, "DeviceInit");
  w.RequireNotNull(*DeviceInit, Ddi::kWdfDeviceCreate, "*DeviceInit");
  w.RequireNotNull(Device, Ddi::kWdfDeviceCreate, "Device");
  NTSTATUS status = wdfsim::core::ValidateObjectAttributes(DeviceAttributes, 0);
  if (!NT_SUCCESS(status)) return status;
  auto* device = new wdfsim::core::Device(w, **DeviceInit);
  device->ApplyAttributes(DeviceAttributes);
  device->Commit(w.driver());
  device->io_target()->Commit(device);
  w.driver()->devices().push_back(device);
  *DeviceInit = nullptr;  // the framework frees the init on success
  *Device = static_cast<WDFDEVICE>(device->handle());
  return STATUS_SUCCESS;
}

WDFIOTARGET WdfDeviceGetIoTarget(WDFDEVICE Device) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceGetIoTarget, Device);
  return static_cast<WDFIOTARGET>(ResolveDevice(w, Device, Ddi::kWdfDeviceGetIoTarget)->io_target()->handle());
}

WDFQUEUE WdfDeviceGetDefaultQueue(WDFDEVICE Device) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceGetDefaultQueue, Device);
  wdfsim::core::Queue* queue = ResolveDevice(w, Device, Ddi::kWdfDeviceGetDefaultQueue)->default_queue();
  return queue != nullptr ? static_cast<WDFQUEUE>(queue->handle()) : nullptr;
}

PDEVICE_OBJECT WdfDeviceWdmGetDeviceObject(WDFDEVICE Device) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceWdmGetDeviceObject, Device);
  return ResolveDevice(w, Device, Ddi::kWdfDeviceWdmGetDeviceObject)->device_object();
}

WDFDRIVER WdfDeviceGetDriver(WDFDEVICE Device) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfDeviceGetDriver, Device);
  (void)ResolveDevice(w, Device, Ddi::kWdfDeviceGetDriver);
  return static_cast<WDFDRIVER>(w.driver()->handle());
}
