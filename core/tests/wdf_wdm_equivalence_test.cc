// One completion path under both layers (issue 4): a synchronous read sent
// through a WDFIOTARGET and the same read written in WDM
// (IoBuildSynchronousFsdRequest, IoCallDriver, wait) look the same at the IRP
// level: the lower driver sees the same stack location and buffer kind, the
// IRP is completed the same number of times with the same status, and the
// caller gets the same status, byte count and data.
#include <cstring>
#include <tuple>
#include <vector>

#include "wdm_fixture.h"

namespace wdfsim_wdm_test {
namespace {

using wdfsim::EventKind;

// What the lower driver sees of the IRP when it is called.
struct LowerView {
  UCHAR major = 0;
  ULONG length = 0;
  LONGLONG offset = 0;
  bool system_buffer = false;
  bool mdl = false;
  bool operator==(const LowerView& o) const {
    return std::tie(major, length, offset, system_buffer, mdl) ==
           std::tie(o.major, o.length, o.offset, o.system_buffer, o.mdl);
  }
};

// The IRP-level events of a run: each completion with its status, each
// cancel routine call.
std::vector<std::pair<EventKind, int64_t>> IrpLevelTrace(const wdfsim::Trace& trace) {
  std::vector<std::pair<EventKind, int64_t>> out;
  for (const auto& e : trace.events()) {
    if (e.kind == EventKind::kIrpCompleted) out.emplace_back(e.kind, e.b);
    if (e.kind == EventKind::kIrpCancelRoutine) out.emplace_back(e.kind, 0);
  }
  return out;
}

struct Result {
  NTSTATUS status = 0;
  ULONG_PTR bytes = 0;
  uint8_t data[16] = {};
};

constexpr LONGLONG kOffset = 4096;

Result ReadThroughWdfTarget(wdfsim::Simulation& sim, PDEVICE_OBJECT lower) {
  Result r;
  WDFIOTARGET target = sim.CreateIoTarget(lower);
  WDF_MEMORY_DESCRIPTOR descriptor;
  WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, r.data, sizeof(r.data));
  LONGLONG offset = kOffset;
  ULONG_PTR bytes = 0;
  r.status = WdfIoTargetSendReadSynchronously(target, nullptr, &descriptor, &offset, nullptr, &bytes);
  r.bytes = bytes;
  return r;
}

Result ReadThroughWdm(PDEVICE_OBJECT lower) {
  Result r;
  KEVENT event;
  IO_STATUS_BLOCK iosb;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  LARGE_INTEGER offset;
  offset.QuadPart = kOffset;
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, lower, r.data, sizeof(r.data), &offset, &event, &iosb);
  NTSTATUS status = IoCallDriver(lower, irp);
  if (status == STATUS_PENDING) {
    KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
    status = iosb.Status;
  }
  r.status = status;
  r.bytes = NT_ERROR(status) ? 0 : iosb.Information;
  return r;
}

class WdfWdmEquivalenceTest : public WdmTest, public ::testing::WithParamInterface<ULONG> {};

TEST_P(WdfWdmEquivalenceTest, InlineCompletionLooksTheSameBelowAndToTheCaller) {
  const ULONG flags = GetParam();
  for (NTSTATUS lower_status : {STATUS_SUCCESS, STATUS_DEVICE_DATA_ERROR}) {
    LowerView views[2];
    Result results[2];
    std::vector<std::pair<EventKind, int64_t>> traces[2];
    for (int layer = 0; layer < 2; ++layer) {
      Start();
      TestDevice lower(1, flags, [&, layer](TestDevice&, PIRP irp) {
        PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
        views[layer] = {location->MajorFunction, location->Parameters.Read.Length,
                        location->Parameters.Read.ByteOffset.QuadPart, irp->AssociatedIrp.SystemBuffer != nullptr,
                        irp->MdlAddress != nullptr};
        void* buffer =
            irp->MdlAddress != nullptr ? MmGetMdlVirtualAddress(irp->MdlAddress) : irp->AssociatedIrp.SystemBuffer;
        if (buffer != nullptr && NT_SUCCESS(lower_status)) memset(buffer, 0x5A, 12);
        irp->IoStatus.Status = lower_status;
        irp->IoStatus.Information = NT_SUCCESS(lower_status) ? 12 : 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return lower_status;
      });
      results[layer] = layer == 0 ? ReadThroughWdfTarget(sim(), lower.dev()) : ReadThroughWdm(lower.dev());
      traces[layer] = IrpLevelTrace(sim().trace());
      EXPECT_TRUE(sim().verdict().clean()) << AllReports();
    }
    EXPECT_EQ(views[0], views[1]) << "the lower driver's view, status 0x" << std::hex << lower_status;
    EXPECT_EQ(traces[0], traces[1]);
    EXPECT_EQ(results[0].status, results[1].status);
    EXPECT_EQ(results[0].bytes, results[1].bytes);
    EXPECT_EQ(0, memcmp(results[0].data, results[1].data, sizeof(results[0].data)));
  }
}

TEST_P(WdfWdmEquivalenceTest, PendedCompletionLooksTheSameBelowAndToTheCaller) {
  const ULONG flags = GetParam();
  std::vector<std::pair<EventKind, int64_t>> traces[2];
  Result results[2];
  int64_t finished_at[2] = {};
  for (int layer = 0; layer < 2; ++layer) {
    Start();
    wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 20 * kMillisecond, 8)}, flags);
    results[layer] = layer == 0 ? ReadThroughWdfTarget(sim(), lower.device()) : ReadThroughWdm(lower.device());
    traces[layer] = IrpLevelTrace(sim().trace());
    finished_at[layer] = sim().now();
    ASSERT_EQ(lower.irps().size(), 1u);
    EXPECT_EQ(lower.irps()[0].major_function, IRP_MJ_READ);
    EXPECT_TRUE(lower.irps()[0].completed);
    EXPECT_TRUE(sim().verdict().clean()) << AllReports();
  }
  EXPECT_EQ(traces[0], traces[1]);
  EXPECT_EQ(results[0].status, results[1].status);
  EXPECT_EQ(results[0].bytes, results[1].bytes);
  EXPECT_EQ(finished_at[0], finished_at[1]) << "both wait for the same completion on the virtual clock";
}

INSTANTIATE_TEST_SUITE_P(BufferedAndDirect, WdfWdmEquivalenceTest, ::testing::Values(DO_BUFFERED_IO, DO_DIRECT_IO));

}  // namespace
}  // namespace wdfsim_wdm_test
