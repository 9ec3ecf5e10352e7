// The simulated I/O manager's requests to the driver (io_manager.cc).
#ifndef WDFSIM_CORE_IO_MANAGER_H_
#define WDFSIM_CORE_IO_MANAGER_H_

#include "wdfsim/harness/simulation.h"

namespace wdfsim::core {

class Request;
class World;

// Builds the IRP for `spec` (threaded on the application thread, its driver
// location current and naming `device`) and the WDFREQUEST wrapping it; the
// request is not yet in a queue or presented.
Request& BuildIoRequest(World& world, const IoRequestSpec& spec, CCHAR stack_size, PDEVICE_OBJECT device);
// Simulation::PresentRequest: built and handed to the driver directly.
WDFREQUEST PresentRequest(World& world, const IoRequestSpec& spec);

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_IO_MANAGER_H_
