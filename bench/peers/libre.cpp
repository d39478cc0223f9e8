// libre adapter (baresip's library, 1.1.0, pkg-config "libre").
//
// sip_msg_decode() needs the message in a mem-allocated struct mbuf (it takes
// a reference on it), so each parse allocates an mbuf and copies the bytes in;
// this mirrors libre's own UDP/TCP receive path, which also allocates a fresh
// mbuf per datagram/message. The decode is zero-copy on that mbuf (struct pl
// views). It is partly lazy:
//   eager: start line (request URI decoded with uri_decode), every header is
//          split into name/value, hashed and linked (one mem_zalloc each,
//          comma-separated list headers split per element), TOP Via decoded
//          (sent-by, branch, params), From/To decoded (name-addr + tag),
//          CSeq (number + method), Content-Type decoded;
//   cached as raw text only: Call-ID, Content-Length, Max-Forwards, Expires;
//   not parsed at all: non-top Vias, Contact, Record-Route, others.
// The adapter converts Content-Length to a number (pl_u32) and checks it
// against the body left in the mbuf, as libre's transport layer does.
// Note: every decode also calls rand_u64() to set msg->tag.

// libre's headers select features via HAVE_* macros that its own build sets.
// Define the ones that matter for the public headers so that the C++ view of
// the structs matches the library (struct sa is padded to the same size
// either way; stdbool is needed to avoid libre's _Bool fallback macros).
#ifndef HAVE_INTTYPES_H
#define HAVE_INTTYPES_H 1
#endif
#ifndef HAVE_STDBOOL_H
#define HAVE_STDBOOL_H 1
#endif
#ifndef HAVE_INET6
#define HAVE_INET6 1
#endif

#include "peer.h"

#include <re.h>

namespace exphone::bench {

namespace {
void copy_pl(InlineField& dst, const struct pl& src) {
  if (pl_isset(&src))
    dst.assign(src.p, src.l);
  else
    dst.clear();
}
}  // namespace

void libre_bench_init() {
  static const int rc = libre_init();
  (void)rc;
}

void libre_bench_close() { libre_close(); }

bool libre_parse(const char* data, std::size_t len, PeerSummary& out) {
  out.reset();

  struct mbuf* mb = mbuf_alloc(len);
  if (mb == nullptr) return false;
  if (mbuf_write_mem(mb, reinterpret_cast<const uint8_t*>(data), len) != 0) {
    mem_deref(mb);
    return false;
  }
  mb->pos = 0;

  struct sip_msg* msg = nullptr;
  const int err = sip_msg_decode(&msg, mb);
  mem_deref(mb);  // msg holds its own reference on success
  if (err != 0 || msg == nullptr) return false;

  bool ok = true;

  copy_pl(out.call_id, msg->callid);
  out.cseq = msg->cseq.num;
  copy_pl(out.cseq_method, msg->cseq.met);
  if (msg->req)
    copy_pl(out.method, msg->met);
  else
    out.status = msg->scode;

  const std::size_t body_left = mbuf_get_left(msg->mb);
  if (pl_isset(&msg->clen)) {
    const std::size_t clen = pl_u32(&msg->clen);
    if (clen != body_left) ok = false;  // truncated or trailing data
    out.body_len = clen;
  } else {
    out.body_len = body_left;  // no Content-Length: body runs to end of datagram
  }

  copy_pl(out.from_tag, msg->from.tag);
  copy_pl(out.to_tag, msg->to.tag);
  copy_pl(out.via_branch, msg->via.branch);

  if (!pl_isset(&msg->callid) || !pl_isset(&msg->via.sentby)) ok = false;

  mem_deref(msg);
  return ok;
}

}  // namespace exphone::bench
