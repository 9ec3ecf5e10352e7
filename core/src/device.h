// WDFDEVICE_INIT and WDFDEVICE (FxDeviceInit, FxDevice, FxPkgIo): the device
// a driver creates in EvtDriverDeviceAdd, attached above a scripted lower
// device. It owns its DEVICE_OBJECT, its default I/O target, its queues and
// the dispatch table that routes each request type to one (SEMANTICS-WDF 5).
#ifndef WDFSIM_CORE_DEVICE_H_
#define WDFSIM_CORE_DEVICE_H_

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "object.h"
#include "wdfsim/harness/lower_driver.h"
#include "wdfsim/harness/simulation.h"

// The opaque PWDFDEVICE_INIT of <wdf.h>.
struct WDFDEVICE_INIT {
  wdfsim::LowerDevice* lower = nullptr;
  WDF_DEVICE_IO_TYPE io_type = WdfDeviceIoBuffered;
  bool filter = false;
};

namespace wdfsim::core {

class IoTarget;
class Queue;
class Request;

// A WDFFILEOBJECT: the framework's object for one of the originator's open
// handles (IoRequestSpec::file_object).
class FileObject final : public Object {
 public:
  FileObject(World& world, uint32_t id);
  uint32_t id() const { return id_; }

 private:
  uint32_t id_;
};

class Device final : public Object {
 public:
  Device(World& world, const WDFDEVICE_INIT& init);

  PDEVICE_OBJECT device_object() { return &device_object_; }
  LowerDevice& lower() const { return *lower_; }
  IoType io_type() const { return io_type_; }
  bool filter() const { return filter_; }
  IoTarget* io_target() const { return io_target_; }
  Queue* default_queue() const { return default_queue_; }
  void set_default_queue(Queue* queue) { default_queue_ = queue; }
  const std::vector<Queue*>& queues() const { return queues_; }
  void AddQueue(Queue* queue) { queues_.push_back(queue); }
  void RemoveQueue(Queue* queue);

  // WdfDeviceConfigureRequestDispatching's table, then the default queue.
  Queue* QueueFor(UCHAR major) const;
  Queue* configured(UCHAR major) const { return dispatch_[major]; }
  void Configure(UCHAR major, Queue* queue) { dispatch_[major] = queue; }

  // The WDFFILEOBJECT for an originator's handle id (created on first use).
  FileObject* FileObjectFor(uint32_t id);

  // FxPkgIo::Dispatch: the request goes to its queue; with none, a filter
  // passes the IRP down and any other device fails it with
  // STATUS_INVALID_DEVICE_REQUEST.
  void Dispatch(Request& request);

 protected:
  void Dispose() override;

 private:
  DEVICE_OBJECT device_object_{};
  LowerDevice* lower_;
  IoType io_type_;
  bool filter_;
  IoTarget* io_target_ = nullptr;
  Queue* default_queue_ = nullptr;
  std::vector<Queue*> queues_;
  std::array<Queue*, IRP_MJ_MAXIMUM_FUNCTION + 1> dispatch_{};
  std::map<uint32_t, FileObject*> file_objects_;
};

// The harness's driver-loading steps (Simulation::LoadDriver and so on).
NTSTATUS LoadDriver(World& world, PDRIVER_INITIALIZE driver_entry);
WDFDEVICE AddDevice(World& world, LowerDevice& lower, NTSTATUS* status);
size_t SendRequest(World& world, WDFDEVICE device, const IoRequestSpec& spec);
bool CancelRequest(World& world, size_t outcome);
// The device leaves D0 and comes back (the PnP/power transitions of its
// power-managed queues; Simulation::PowerDown / PowerUp).
void PowerDown(World& world, WDFDEVICE device);
void PowerUp(World& world, WDFDEVICE device);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_DEVICE_H_
