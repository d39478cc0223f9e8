#include "media/spandsp_library.h"

#include "core/shared_library.h"

namespace exphone::media {

namespace {

void bind(void* h, SpanDsp& d, std::string& error) {
  bind_symbol(h, "g722_encode_init", d.g722_encode_init, error);
  bind_symbol(h, "g722_encode", d.g722_encode, error);
  bind_symbol(h, "g722_encode_free", d.g722_encode_free, error);
  bind_symbol(h, "g722_decode_init", d.g722_decode_init, error);
  bind_symbol(h, "g722_decode", d.g722_decode, error);
  bind_symbol(h, "g722_decode_free", d.g722_decode_free, error);
}

LazyLibrary<SpanDsp> library("libspandsp.so.2", "libspandsp2", "codec-library-missing", bind);

}  // namespace

Result<const SpanDsp*> spandsp_library() { return library.get(); }

}  // namespace exphone::media
