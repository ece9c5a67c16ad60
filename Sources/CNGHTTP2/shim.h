#ifndef CNGHTTP2_SHIM_H
#define CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>

/// The libnghttp2 version this module was compiled against, as 0xMMmmpp.
static inline int CNGHTTP2_versionNumber(void) { return NGHTTP2_VERSION_NUM; }

#endif
