// spandsp (G.722), loaded by the first call that needs it
// (core/shared_library.h): an idle phone does not map it, nor the image libraries (libtiff,
// libjpeg, ...) its fax half pulls in. The functions are spandsp's own, through this table.
#pragma once

#include <spandsp.h>

#include "core/result.h"

namespace exphone::media {

struct SpanDsp {
  decltype(&::g722_encode_init) g722_encode_init;
  decltype(&::g722_encode) g722_encode;
  decltype(&::g722_encode_free) g722_encode_free;
  decltype(&::g722_decode_init) g722_decode_init;
  decltype(&::g722_decode) g722_decode;
  decltype(&::g722_decode_free) g722_decode_free;
};

// Error codec-library-missing when libspandsp.so.2 cannot be loaded.
Result<const SpanDsp*> spandsp_library();
// After spandsp_library() succeeded.
inline const SpanDsp& spandsp() { return **spandsp_library(); }

}  // namespace exphone::media
