// sofia-sip adapter (libsofia-sip-ua, pkg-config "sofia-sip-ua").
//
// The parse follows exactly what sofia's own one-shot helper msg_make() does
// (and what nta does for a received datagram): msg_create() with the default
// SIP mclass, su_home_preload() of the message's memory home (len + 1024 bytes,
// the value msg_make() uses), msg_recv_iovec() for an exact-size buffer, one
// memcpy, msg_recv_commit(eos), then msg_extract(). We open-code it instead of
// calling msg_make() so that msg_extract()'s return value can be checked.
//
// msg_extract() is eager: every header whose name is in the default mclass is
// run through its class parser at extract time (all Vias with params,
// From/To/Contact/Record-Route with URLs and params, Call-ID (+hash), CSeq,
// Content-Type, Content-Length, Max-Forwards, Expires, Date (to time_t),
// Allow/Supported (token lists), User-Agent/Server). Parsing is in place on
// sofia's own copy of the buffer; structures come from the su_home arena.
// The payload is only located (pointer + length), not SDP-parsed.
// msg_destroy() frees the whole message.

#include "peer.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

// Set to 0 to measure without the arena preload (nta's default when
// NTATAG_PRELOAD is not given).
#ifndef EXPHONE_BENCH_SOFIA_PRELOAD
#define EXPHONE_BENCH_SOFIA_PRELOAD 1
#endif

namespace exphone::bench {

void sofia_bench_init() {}

bool sofia_parse(const char* data, std::size_t len, PeerSummary& out) {
  out.reset();
  if (len == 0) return false;

  msg_t* msg = msg_create(sip_default_mclass(), 0);
  if (msg == nullptr) return false;

#if EXPHONE_BENCH_SOFIA_PRELOAD
  su_home_preload(msg_home(msg), 1, static_cast<isize_t>(len) + 1024);
#endif

  msg_iovec_t iov[2];
  if (msg_recv_iovec(msg, iov, 2, static_cast<usize_t>(len), 1) < 0 ||
      static_cast<std::size_t>(iov[0].mv_len) != len) {
    msg_destroy(msg);
    return false;
  }
  std::memcpy(iov[0].mv_base, data, len);
  msg_recv_commit(msg, static_cast<usize_t>(len), 1);

  bool ok = msg_extract(msg) > 0;
  sip_t const* sip = sip_object(msg);
  if (sip == nullptr || (sip->sip_flags & MSG_FLG_ERROR) != 0 || sip->sip_error != nullptr)
    ok = false;

  if (ok) {
    if (sip->sip_call_id != nullptr)
      out.call_id.assign(sip->sip_call_id->i_id);
    else
      ok = false;

    if (sip->sip_cseq != nullptr) {
      out.cseq = sip->sip_cseq->cs_seq;
      out.cseq_method.assign(sip->sip_cseq->cs_method_name);
    } else {
      ok = false;
    }

    if (sip->sip_request != nullptr)
      out.method.assign(sip->sip_request->rq_method_name);
    else if (sip->sip_status != nullptr)
      out.status = sip->sip_status->st_status;
    else
      ok = false;

    if (sip->sip_content_length == nullptr) ok = false;
    out.body_len = sip->sip_payload != nullptr ? sip->sip_payload->pl_len : 0;

    if (sip->sip_from != nullptr && sip->sip_from->a_tag != nullptr)
      out.from_tag.assign(sip->sip_from->a_tag);
    if (sip->sip_to != nullptr && sip->sip_to->a_tag != nullptr)
      out.to_tag.assign(sip->sip_to->a_tag);
    if (sip->sip_via != nullptr && sip->sip_via->v_branch != nullptr)
      out.via_branch.assign(sip->sip_via->v_branch);
  }

  msg_destroy(msg);
  return ok;
}

}  // namespace exphone::bench
