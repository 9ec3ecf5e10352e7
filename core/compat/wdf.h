/* Lets driver code write #include <wdf.h> unchanged. */
#include "wdfsim/wdf.h"
