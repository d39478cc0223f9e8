#include "ua/dialog.h"

#include <algorithm>

#include "core/text.h"

namespace exphone::ua {

using sip::HeaderId;
using sip::Message;

namespace {

// The header value of a name-addr without its tag parameter, re-written as "<uri>;params".
std::string without_tag(const sip::NameAddr& na) {
  std::string out;
  if (!na.display_name.empty()) out.append(na.display_name).append(" ");
  out.append("<").append(na.uri.raw).append(">");
  na.params.for_each([&](const sip::Param& p) {
    if (text::iequals(p.name, "tag")) return;
    out.append(";").append(p.name);
    if (p.has_value) out.append("=").append(p.value);
  });
  return out;
}

Result<std::string> contact_uri(const Message& m) {
  auto contacts = m.contacts();
  if (!contacts || contacts->size() != 1 || contacts->front().star)
    return make_error("dialog-bad-contact", "a dialog needs exactly one Contact URI (section 12.1)");
  return std::string(contacts->front().address.uri.raw);
}

Result<std::vector<std::string>> record_route(const Message& m) {
  auto rr = m.routes(HeaderId::kRecordRoute);
  if (!rr) return rr.error();
  std::vector<std::string> out;
  for (const auto& r : *rr) out.push_back("<" + std::string(r.uri.raw) + ">");
  return out;
}

}  // namespace

Result<Dialog> Dialog::from_uac(const Message& request, const Message& response) {
  auto to = response.to();
  auto from = request.from();
  auto cseq = request.cseq();
  if (!to || !from || !cseq) return make_error("dialog-bad-response", "response without usable To/From/CSeq");
  if (to->tag().empty()) return make_error("dialog-no-tag", "a response without a To tag creates no dialog");
  Dialog d;
  d.id_ = DialogId{std::string(request.call_id()), std::string(from->tag()), std::string(to->tag())};
  d.state_ = response.status() < 200 ? State::kEarly : State::kConfirmed;
  d.secure_ = request.request_uri().scheme == sip::Scheme::kSips;
  d.local_seq_ = cseq->number;
  d.local_uri_ = without_tag(*from);
  d.remote_uri_ = without_tag(*to);
  auto target = contact_uri(response);
  if (!target) return target.error();
  d.remote_target_ = *target;
  // section 12.1.2: the route set is the Record-Route of the response, in reverse order
  auto rr = record_route(response);
  if (!rr) return rr.error();
  d.route_set_.assign(rr->rbegin(), rr->rend());
  return d;
}

Result<Dialog> Dialog::from_uas(const Message& request, std::string local_tag, bool secure_transport) {
  auto to = request.to();
  auto from = request.from();
  auto cseq = request.cseq();
  if (!to || !from || !cseq) return make_error("dialog-bad-request", "request without usable To/From/CSeq");
  Dialog d;
  d.id_ = DialogId{std::string(request.call_id()), std::move(local_tag), std::string(from->tag())};
  d.state_ = State::kConfirmed;
  // section 12.1.1: secure when the request came over TLS with a sips Request-URI
  d.secure_ = secure_transport && request.request_uri().scheme == sip::Scheme::kSips;
  d.remote_seq_ = cseq->number;
  d.local_uri_ = without_tag(*to);
  d.remote_uri_ = without_tag(*from);
  auto target = contact_uri(request);
  if (!target) return target.error();
  d.remote_target_ = *target;
  // section 12.1.1: the route set is the Record-Route of the request, in order
  auto rr = record_route(request);
  if (!rr) return rr.error();
  d.route_set_ = std::move(*rr);
  return d;
}

Status Dialog::confirm(const Message& response) {
  if (response.status() < 200 || response.status() >= 300) return make_error("dialog-bad-response", "not a 2xx");
  auto target = contact_uri(response);
  if (!target) return target.error();
  auto rr = record_route(response);
  if (!rr) return rr.error();
  remote_target_ = *target;
  route_set_.assign(rr->rbegin(), rr->rend());  // section 13.2.2.4
  state_ = State::kConfirmed;
  return Ok{};
}

Result<Message> Dialog::make_request(std::string_view method, std::string_view via, std::optional<std::uint32_t> cseq) {
  // section 12.2.1.1: loose routing when the first route has ;lr, else the strict-router form
  std::string request_uri = remote_target_;
  std::vector<std::string> routes = route_set_;
  if (!routes.empty()) {
    std::string first = routes.front().substr(1, routes.front().size() - 2);  // strip <>
    auto u = sip::parse_uri(first);
    if (!u) return make_error("dialog-bad-route", "route set entry is not a URI: " + first);
    if (!u->params.has("lr")) {
      std::size_t q = first.find('?');  // URI headers are not allowed in a Request-URI
      request_uri = first.substr(0, q);
      routes.erase(routes.begin());
      routes.push_back("<" + remote_target_ + ">");
    }
  }
  auto req = Message::request(method, request_uri);
  if (!req) return req.error();
  Message& m = *req;
  m.add_header(HeaderId::kVia, via);
  m.add_header(HeaderId::kMaxForwards, "70");
  for (const auto& r : routes) m.add_header(HeaderId::kRoute, r);
  m.add_header(HeaderId::kFrom, local_uri_ + ";tag=" + id_.local_tag);
  m.add_header(HeaderId::kTo, remote_uri_ + (id_.remote_tag.empty() ? "" : ";tag=" + id_.remote_tag));
  m.add_header(HeaderId::kCallId, id_.call_id);
  std::uint32_t n = cseq ? *cseq : ++local_seq_;
  m.add_header(HeaderId::kCSeq, std::to_string(n) + " " + std::string(method));
  m.add_header(HeaderId::kContentLength, "0");  // section 18.3; set_body replaces it
  return std::move(m);
}

int Dialog::receive_request(const Message& request) {
  auto cseq = request.cseq();
  if (!cseq) return 400;
  // section 12.2.2: a lower CSeq than the last one is out of order; ACK and CANCEL carry the
  // INVITE's number and are exempt
  bool exempt = request.method() == "ACK" || request.method() == "CANCEL";
  if (!exempt) {
    if (remote_seq_ && cseq->number < *remote_seq_) return 500;
    remote_seq_ = cseq->number;
  }
  // target refresh (section 12.2.2): re-INVITE and UPDATE may carry a new Contact
  if ((request.method() == "INVITE" || request.method() == "UPDATE") && request.find(HeaderId::kContact))
    if (auto t = contact_uri(request)) remote_target_ = *t;
  if (request.method() == "BYE") state_ = State::kTerminated;
  return 0;
}

void Dialog::receive_refresh_response(const Message& response) {
  if (response.status() >= 200 && response.status() < 300 && response.find(HeaderId::kContact))
    if (auto t = contact_uri(response)) remote_target_ = *t;
}

bool Dialog::matches(const Message& m) const {
  if (m.call_id() != id_.call_id) return false;
  auto from = m.from();
  auto to = m.to();
  if (!from || !to) return false;
  if (m.is_request()) return from->tag() == id_.remote_tag && to->tag() == id_.local_tag;
  return from->tag() == id_.local_tag && to->tag() == id_.remote_tag;
}

}  // namespace exphone::ua
