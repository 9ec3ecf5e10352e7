#include "thread.h"

#include "absl/strings/str_format.h"
#include "irp.h"
#include "world.h"

namespace wdfsim::core {
namespace {

constexpr int64_t kCancelRetryInterval = 100 * 10000;  // 100 ms
constexpr int kCancelRetries = 3000;                   // about five minutes (ReactOS IoCancelThreadIo)

void InitializeListHead(LIST_ENTRY& head) { head.Flink = head.Blink = &head; }

IRP* IrpFromListEntry(LIST_ENTRY* entry) {
  return reinterpret_cast<IRP*>(reinterpret_cast<char*>(entry) - offsetof(IRP, ThreadListEntry));
}

void RetryCancel(World& world, SimThread& thread, int attempt);

// IopDisassociateThreadIrp: the IRP at the head of the list stays pending
// below but no longer belongs to the thread.
void DisassociateHead(World& world, SimThread& thread) {
  LIST_ENTRY& head = thread.irp_list();
  if (head.Flink == &head) return;
  IRP* irp = IrpFromListEntry(head.Flink);
  if (irp->CurrentLocation == irp->StackCount + 2) return;  // already fully completed
  UnqueueIrpFromThread(irp);
  irp->Tail.Overlay.Thread = nullptr;
  const IrpRecord* record = world.FindIrp(irp);
  world.Log(EventKind::kNote, Ddi::kNone, 0,
            world.trace().AddNote(absl::StrFormat("IO_DRIVER_CANCEL_TIMEOUT: IRP#%d disowned by %s",
                                                  record ? record->serial : 0, thread.name())));
}

void RetryCancel(World& world, SimThread& thread, int attempt) {
  LIST_ENTRY& head = thread.irp_list();
  if (head.Flink == &head) return;  // every IRP came back: the thread is gone
  if (attempt >= kCancelRetries) {
    DisassociateHead(world, thread);
    attempt = 0;
    if (head.Flink == &head) return;
  }
  world.Schedule(world.now() + kCancelRetryInterval, PASSIVE_LEVEL, "IoCancelThreadIo retry",
                 [&world, &thread, attempt] { RetryCancel(world, thread, attempt + 1); });
}

}  // namespace

SimThread::SimThread(uint32_t id, std::string name) : id_(id), name_(std::move(name)) { InitializeListHead(irp_list_); }

void QueueIrpToThread(SimThread& thread, IRP* irp) {
  LIST_ENTRY& head = thread.irp_list();
  LIST_ENTRY* entry = &irp->ThreadListEntry;
  entry->Flink = head.Flink;
  entry->Blink = &head;
  head.Flink->Blink = entry;
  head.Flink = entry;
}

void UnqueueIrpFromThread(IRP* irp) {
  LIST_ENTRY* entry = &irp->ThreadListEntry;
  if (entry->Flink == entry) return;
  entry->Blink->Flink = entry->Flink;
  entry->Flink->Blink = entry->Blink;
  InitializeListHead(*entry);
}

bool IrpOnThreadList(const IRP* irp) { return irp->ThreadListEntry.Flink != &irp->ThreadListEntry; }

void ExitThread(World& world, SimThread& thread) {
  if (thread.exiting()) return;
  thread.set_exiting();
  world.Log(EventKind::kNote, Ddi::kNone, 0,
            world.trace().AddNote(absl::StrFormat("%s exits: IoCancelThreadIo", thread.name())));
  // IoCancelIrp on every IRP on the list (each may complete and unlink itself).
  std::vector<IRP*> irps;
  LIST_ENTRY& head = thread.irp_list();
  for (LIST_ENTRY* entry = head.Flink; entry != &head; entry = entry->Flink) irps.push_back(IrpFromListEntry(entry));
  // At APC_LEVEL, as IoCancelThreadIo: no completion APC for this thread
  // runs (and frees a listed IRP) in the middle of the loop.
  const KIRQL irql = world.irql();
  if (irql < APC_LEVEL) world.SetIrql(APC_LEVEL);
  for (IRP* irp : irps) {
    const IrpRecord* record = world.FindIrp(irp);
    if (record != nullptr && !record->freed && IrpOnThreadList(irp)) CancelIrp(world, irp, Ddi::kThreadExit);
  }
  world.SetIrql(irql);
  RetryCancel(world, thread, 0);
}

}  // namespace wdfsim::core
