// GNU oSIP2 adapter (libosipparser2, pkg-config "libosip2").
//
// osip_message_parse() is fully eager: it copies the input, then parses the
// start line and every header it knows into structures (all Vias with their
// parameters, From/To/Contact/Record-Route with URIs and generic params,
// Call-ID split into number@host, CSeq, Content-Type with params,
// Content-Length, Allow); other headers (Max-Forwards, Supported, User-Agent,
// Expires, Date, Server) are stored as name/value strings. The body is copied
// into an osip_body_t (it is not SDP-parsed). Everything is malloc'ed and
// released by osip_message_free().
#include "peer.h"

#include <cstdlib>

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

namespace exphone::bench {

void osip2_init() {
  static const int rc = parser_init();
  (void)rc;
}

bool osip2_parse(const char* data, std::size_t len, PeerSummary& out) {
  out.reset();

  osip_message_t* sip = nullptr;
  if (osip_message_init(&sip) != OSIP_SUCCESS) return false;

  bool ok = osip_message_parse(sip, data, len) == OSIP_SUCCESS;

  if (ok) {
    // Call-ID: oSIP splits it into number and host; put it back together.
    osip_call_id_t* cid = osip_message_get_call_id(sip);
    if (cid != nullptr && cid->number != nullptr) {
      out.call_id.assign(cid->number);
      if (cid->host != nullptr) {
        out.call_id.append("@", 1);
        out.call_id.append(cid->host);
      }
    } else {
      ok = false;
    }

    osip_cseq_t* cseq = osip_message_get_cseq(sip);
    if (cseq != nullptr && cseq->number != nullptr && cseq->method != nullptr) {
      out.cseq = std::strtoul(cseq->number, nullptr, 10);
      out.cseq_method.assign(cseq->method);
    } else {
      ok = false;
    }

    if (MSG_IS_REQUEST(sip)) {
      out.method.assign(sip->sip_method);
    } else {
      out.status = osip_message_get_status_code(sip);
    }

    osip_body_t* body = nullptr;
    if (osip_message_get_body(sip, 0, &body) >= 0 && body != nullptr) out.body_len = body->length;

    osip_generic_param_t* tag = nullptr;
    if (osip_message_get_from(sip) != nullptr &&
        osip_from_get_tag(osip_message_get_from(sip), &tag) >= 0 && tag != nullptr)
      out.from_tag.assign(tag->gvalue);
    tag = nullptr;
    if (osip_message_get_to(sip) != nullptr &&
        osip_to_get_tag(osip_message_get_to(sip), &tag) >= 0 && tag != nullptr)
      out.to_tag.assign(tag->gvalue);

    osip_via_t* via = nullptr;
    osip_generic_param_t* branch = nullptr;
    if (osip_message_get_via(sip, 0, &via) >= 0 && via != nullptr &&
        osip_via_param_get_byname(via, const_cast<char*>("branch"), &branch) >= 0 &&
        branch != nullptr)
      out.via_branch.assign(branch->gvalue);
  }

  osip_message_free(sip);
  return ok;
}

}  // namespace exphone::bench
