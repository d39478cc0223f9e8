#include "sip/validate.h"

#include <array>

#include "core/text.h"

namespace exphone::sip {

bool is_known_method(std::string_view method) {
  static constexpr std::array<std::string_view, 14> kKnown = {
      "INVITE", "ACK",    "CANCEL",  "BYE",     "OPTIONS", "REGISTER", "PRACK",
      "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER",   "MESSAGE",  "UPDATE"};
  for (auto k : kKnown)
    if (k == method) return true;  // methods are case-sensitive (section 7.1)
  return false;
}

namespace {

Verdict refuse(int status, std::string code, std::string reason) {
  Verdict v;
  v.valid = false;
  v.response = status;
  v.code = std::move(code);
  v.reason = std::move(reason);
  return v;
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  for (const auto& x : list)
    if (text::iequals(x, s)) return true;
  return false;
}

// Structural checks shared by requests and responses (section 8.1.1: To, From, CSeq, Call-ID,
// Max-Forwards and Via; responses carry all but Max-Forwards). Returns the failing reason.
std::optional<Verdict> check_headers(const Message& m) {
  auto missing = [&](HeaderId id) -> std::optional<Verdict> {
    if (!m.find(id))
      return refuse(400, "sip-missing-header", "missing mandatory header " + std::string(header_name(id)));
    return std::nullopt;
  };
  for (HeaderId id : {HeaderId::kVia, HeaderId::kFrom, HeaderId::kTo, HeaderId::kCallId, HeaderId::kCSeq})
    if (auto v = missing(id)) return v;
  // Max-Forwards is mandatory for a UAC (section 8.1.1.6), but a UAS accepts requests from
  // RFC 2543 elements without it (RFC 4475 section 3.4.1).
  // Single-valued headers that appear more than once make the message ambiguous.
  for (HeaderId id : {HeaderId::kFrom, HeaderId::kTo, HeaderId::kCallId, HeaderId::kCSeq, HeaderId::kMaxForwards})
    if (m.count(id) > 1)
      return refuse(400, "sip-duplicate-header", "more than one " + std::string(header_name(id)) + " header");
  if (const Error* d = m.defect()) return refuse(400, d->code, d->message);

  auto bad = [](const Error& e) { return refuse(400, e.code, e.message); };
  auto vias = m.vias();
  if (!vias) return bad(vias.error());
  auto from = m.from();
  if (!from) return bad(from.error());
  auto to = m.to();
  if (!to) return bad(to.error());
  if (!valid_call_id(m.call_id())) return refuse(400, "sip-bad-call-id", "malformed Call-ID");
  auto cseq = m.cseq();
  if (!cseq) return bad(cseq.error());
  if (m.is_request()) {
    const Header* mf = m.find(HeaderId::kMaxForwards);
    if (mf && !parse_number_header(mf->value, 255))
      return refuse(400, "sip-bad-max-forwards", "Max-Forwards is not a number 0-255");
    // section 8.1.1.7: a branch that is only the magic cookie identifies no transaction
    if (vias->front().branch() == "z9hG4bK")
      return refuse(400, "sip-bad-branch", "Via branch is only the magic cookie z9hG4bK");
    // section 19.1.1 table 1: headers are not allowed in a Request-URI
    if (m.request_uri().is_sip_or_sips() && !m.request_uri().headers.empty())
      return refuse(400, "sip-bad-uri", "Request-URI carries URI headers");
  }
  if (const Header* e = m.find(HeaderId::kExpires); e && !parse_number_header(e->value))
    return refuse(400, "sip-bad-expires", "Expires is not a number");
  if (m.find(HeaderId::kContact)) {
    auto c = m.contacts();
    if (!c) return bad(c.error());
  }
  for (HeaderId id : {HeaderId::kRoute, HeaderId::kRecordRoute}) {
    if (m.find(id)) {
      auto r = m.routes(id);
      if (!r) return bad(r.error());
    }
  }
  if (!m.body().empty() || m.find(HeaderId::kContentType)) {
    if (m.find(HeaderId::kContentType)) {
      auto ct = m.content_type();
      if (!ct) return bad(ct.error());
    }
  }
  return std::nullopt;
}

}  // namespace

Verdict validate(const Message& m, const ValidationPolicy& policy) {
  // section 8.1.3.3 / 18.1.2: a malformed response is discarded; nobody answers a response.
  if (m.is_response()) {
    if (!text::iequals(m.version(), "SIP/2.0")) {
      Verdict v = refuse(0, "sip-bad-version", "unsupported SIP version " + std::string(m.version()));
      return v;
    }
    if (auto v = check_headers(m)) {
      v->response = 0;
      return *v;
    }
    // section 8.1.3.3: a response with more than one Via value is not for this UAC
    if (m.vias()->size() != 1)
      return refuse(0, "sip-extra-via", "a response to this UA must carry exactly one Via value");
    return {};
  }

  // section 8.2 order: (transport) version -> malformed -> method -> headers -> content.
  // An ACK never gets a response (section 17.2.3): invalid, but answer 0.
  const bool ack = m.method() == "ACK";
  auto answer = [&](Verdict v) {
    if (ack) v.response = 0;
    return v;
  };
  if (!text::iequals(m.version(), "SIP/2.0"))
    return answer(refuse(505, "sip-bad-version", "SIP version " + std::string(m.version()) + " not supported"));
  if (auto v = check_headers(m)) return answer(*v);

  // section 16.3 step 3 / 8.2: Max-Forwards 0 means the request must go no further (483).
  // OPTIONS with Max-Forwards 0 is answered by the element itself (section 11), so it passes.
  if (m.max_forwards() == 0u && m.method() != "OPTIONS" && !ack)
    return answer(refuse(483, "sip-too-many-hops", "Max-Forwards is 0"));

  // section 8.2.1: method inspection
  if (!contains(policy.supported_methods, m.method())) {
    if (is_known_method(m.method()))
      return answer(refuse(405, "sip-method-not-allowed", std::string(m.method()) + " is not supported here"));
    return answer(refuse(501, "sip-method-not-implemented", "unknown method " + std::string(m.method())));
  }

  // section 8.1.1.5: the CSeq method MUST match the request method (checked once the method is
  // known to be ours, so an unknown method still gets 501: RFC 4475 section 3.1.2.19)
  if (auto cseq = m.cseq(); cseq->method != m.method())
    return answer(refuse(400, "sip-cseq-method-mismatch",
                         "CSeq method " + std::string(cseq->method) + " does not match request method " +
                             std::string(m.method())));

  // section 8.2.2.1: Request-URI scheme
  const Uri& ru = m.request_uri();
  if (!ru.is_sip_or_sips() && !(ru.scheme == Scheme::kTel && policy.accept_tel_request_uri))
    return answer(refuse(416, "sip-unsupported-uri-scheme",
                         "Request-URI scheme " + std::string(ru.scheme_text) + " is not supported"));

  // section 8.2.2.3: Require (ignored for ACK and CANCEL)
  if (!ack && m.method() != "CANCEL" && m.find(HeaderId::kRequire)) {
    auto tags = m.option_tags(HeaderId::kRequire);
    if (!tags) return answer(refuse(400, tags.error().code, tags.error().message));
    Verdict v;
    for (auto t : *tags)
      if (!contains(policy.supported_extensions, t)) v.unsupported.emplace_back(t);
    if (!v.unsupported.empty()) {
      Verdict r = refuse(420, "sip-bad-extension", "unsupported extension required: " + v.unsupported.front());
      r.unsupported = std::move(v.unsupported);
      return r;
    }
  }

  // section 8.2.3: content processing
  if (!m.body().empty()) {
    if (!m.find(HeaderId::kContentType))
      return answer(refuse(400, "sip-missing-content-type", "body without Content-Type"));
    auto ct = m.content_type();
    std::string type = text::to_lower(ct->type) + "/" + text::to_lower(ct->subtype);
    if (!contains(policy.accepted_content_types, type))
      return answer(refuse(415, "sip-unsupported-media-type", "body type " + type + " is not supported"));
  }
  // section 8.2.3 / 20.1: an INVITE whose Accept rules out SDP cannot get an answer we can give
  if (m.method() == "INVITE" && m.find(HeaderId::kAccept)) {
    auto ranges = m.values(HeaderId::kAccept);
    bool sdp = false;
    if (ranges) {
      for (auto r : *ranges) {
        auto mt = parse_media_type(r);
        if (mt && (mt->is("application", "sdp") || mt->is("application", "*") || mt->is("*", "*"))) sdp = true;
      }
    }
    if (!sdp) return answer(refuse(406, "sip-not-acceptable", "Accept does not include application/sdp"));
  }
  if (m.find(HeaderId::kContentEncoding)) {
    auto encs = m.values(HeaderId::kContentEncoding);
    if (!encs) return answer(refuse(400, encs.error().code, encs.error().message));
    for (auto e : *encs)
      if (!text::iequals(e, "identity"))
        return answer(refuse(415, "sip-unsupported-encoding", "Content-Encoding " + std::string(e) + " is not supported"));
  }
  return {};
}

}  // namespace exphone::sip
