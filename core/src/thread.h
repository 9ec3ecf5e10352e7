// Simulated threads: the driver thread the program runs on, the application
// thread that issues presented requests, and the IRP list each keeps for the
// threaded IRPs it issued (SEMANTICS-WDM A.1.6).
#ifndef WDFSIM_CORE_THREAD_H_
#define WDFSIM_CORE_THREAD_H_

#include <cstdint>
#include <string>

#include "wdfsim/wdm.h"

// The opaque thread object PETHREAD points to.
struct _KTHREAD {};

namespace wdfsim::core {

class World;

class SimThread final : public _KTHREAD {
 public:
  SimThread(uint32_t id, std::string name);
  uint32_t id() const { return id_; }
  const std::string& name() const { return name_; }
  LIST_ENTRY& irp_list() { return irp_list_; }
  bool exiting() const { return exiting_; }
  void set_exiting() { exiting_ = true; }

 private:
  uint32_t id_;
  std::string name_;
  LIST_ENTRY irp_list_;
  bool exiting_ = false;
};

// IopQueueIrpToThread / IopUnQueueIrpFromThread.
void QueueIrpToThread(SimThread& thread, IRP* irp);
void UnqueueIrpFromThread(IRP* irp);
bool IrpOnThreadList(const IRP* irp);

// The thread exits: IoCancelThreadIo cancels each of its IRPs, then checks
// every 100 ms; after 3000 checks it disowns the IRP still there
// (IopDisassociateThreadIrp) and goes on until the list is empty.
void ExitThread(World& world, SimThread& thread);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_THREAD_H_
