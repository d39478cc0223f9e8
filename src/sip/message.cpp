#include "sip/message.h"

#include "core/text.h"

namespace exphone::sip {

std::string_view Message::keep(std::string_view text) {
  owned_.push_back(std::make_unique<std::string>(text));
  return *owned_.back();
}

const Header* Message::find(HeaderId id) const {
  for (const auto& h : headers_)
    if (h.id == id) return &h;
  return nullptr;
}

const Header* Message::find(std::string_view name) const {
  HeaderId id = lookup_header(name);
  if (id != HeaderId::kOther) return find(id);
  for (const auto& h : headers_)
    if (h.id == HeaderId::kOther && text::iequals(h.name, name)) return &h;
  return nullptr;
}

std::size_t Message::count(HeaderId id) const {
  std::size_t n = 0;
  for (const auto& h : headers_) n += h.id == id;
  return n;
}

Result<std::vector<std::string_view>> Message::values(HeaderId id) const {
  std::vector<std::string_view> out;
  for (const auto& h : headers_) {
    if (h.id != id) continue;
    if (!is_list_header(id) || (h.value.find(',') == std::string_view::npos && h.value.find('(') == std::string_view::npos &&
                                h.value.find('"') == std::string_view::npos)) {
      if (h.value.empty() && is_list_header(id))
        return make_error("sip-bad-list", std::string(header_name(id)) + ": empty element in header list");
      if (out.size() >= limits_.max_list_items)
        return make_error("sip-too-many-values", std::string(header_name(id)) + ": too many values");
      out.push_back(h.value);  // already trimmed by the parser
      continue;
    }
    auto items = split_list(h.value, limits_.max_list_items);
    if (!items) {
      Error e = items.error();
      e.message = std::string(header_name(id)) + ": " + e.message;
      return e;
    }
    if (out.size() + items->size() > limits_.max_list_items)
      return make_error("sip-too-many-values", std::string(header_name(id)) + ": too many values");
    out.insert(out.end(), items->begin(), items->end());
  }
  return out;
}

namespace {

// Applies parse(value) to every element of a list header, prefixing errors with the header name.
template <class T, class F>
Result<std::vector<T>> parse_all(const Message& m, HeaderId id, F&& parse) {
  auto items = m.values(id);
  if (!items) return items.error();
  std::vector<T> out;
  out.reserve(items->size());
  for (auto v : *items) {
    auto r = parse(v);
    if (!r) {
      Error e = r.error();
      e.message = std::string(header_name(id)) + ": " + e.message;
      return e;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

// Parses the single header `id`; on failure, prefixes the error with the header name. The
// success path returns the parser's Result itself (no copy of the parsed value).
template <class T, class F>
Result<T> parse_single(const Message& m, HeaderId id, F&& parse) {
  const Header* h = m.find(id);
  if (!h) return make_error("sip-missing-header", "missing " + std::string(header_name(id)) + " header");
  Result<T> r = parse(h->value);
  if (!r) return make_error(r.error().code, std::string(header_name(id)) + ": " + r.error().message, r.error().offset);
  return r;
}

}  // namespace

Result<std::vector<Via>> Message::vias() const {
  // The common case — one Via value per line — parses straight from the header index.
  std::vector<Via> out;
  for (const auto& h : headers_) {
    if (h.id != HeaderId::kVia) continue;
    if (h.value.find(',') != std::string_view::npos) return parse_all<Via>(*this, HeaderId::kVia, [&](std::string_view v) { return parse_via(v, limits_); });
    if (out.size() >= limits_.max_list_items) return make_error("sip-too-many-values", "Via: too many values");
    auto r = parse_via(h.value, limits_);
    if (!r) return make_error(r.error().code, "Via: " + r.error().message, r.error().offset);
    if (out.empty()) out.reserve(4);
    out.push_back(std::move(*r));
  }
  return out;
}

Result<Via> Message::top_via() const {
  const Header* h = find(HeaderId::kVia);
  if (!h) return make_error("sip-missing-header", "missing Via header");
  std::size_t comma = text::find_unquoted(h->value, ',');
  auto r = parse_via(text::trim(h->value.substr(0, comma)), limits_);
  if (!r) return make_error(r.error().code, "Via: " + r.error().message);
  return r;
}

Result<NameAddr> Message::from() const {
  return parse_single<NameAddr>(*this, HeaderId::kFrom, [&](std::string_view v) { return parse_name_addr(v, limits_); });
}

Result<NameAddr> Message::to() const {
  return parse_single<NameAddr>(*this, HeaderId::kTo, [&](std::string_view v) { return parse_name_addr(v, limits_); });
}

std::string_view Message::call_id() const {
  const Header* h = find(HeaderId::kCallId);
  return h ? h->value : std::string_view{};
}

Result<CSeq> Message::cseq() const {
  return parse_single<CSeq>(*this, HeaderId::kCSeq, [](std::string_view v) { return parse_cseq(v); });
}

std::optional<std::uint32_t> Message::max_forwards() const {
  const Header* h = find(HeaderId::kMaxForwards);
  if (!h) return std::nullopt;
  auto n = parse_number_header(h->value, 255);
  return n ? std::optional<std::uint32_t>(*n) : std::nullopt;
}

std::optional<std::uint32_t> Message::expires() const {
  const Header* h = find(HeaderId::kExpires);
  if (!h) return std::nullopt;
  auto n = parse_number_header(h->value);
  return n ? std::optional<std::uint32_t>(*n) : std::nullopt;
}

Result<std::vector<Contact>> Message::contacts() const {
  return parse_all<Contact>(*this, HeaderId::kContact, [&](std::string_view v) { return parse_contact(v, limits_); });
}

Result<std::vector<NameAddr>> Message::routes(HeaderId id) const {
  return parse_all<NameAddr>(*this, id, [&](std::string_view v) { return parse_name_addr(v, limits_); });
}

Result<MediaType> Message::content_type() const {
  return parse_single<MediaType>(*this, HeaderId::kContentType, [&](std::string_view v) { return parse_media_type(v, limits_); });
}

Result<std::vector<std::string_view>> Message::option_tags(HeaderId id) const {
  auto items = values(id);
  if (!items) return items.error();
  for (auto t : *items)
    if (!text::is_token(t))
      return make_error("sip-bad-option-tag", std::string(header_name(id)) + ": option-tag is not a token");
  return items;
}

Result<Message> Message::request(std::string_view method, std::string_view request_uri) {
  if (!text::is_token(method)) return make_error("sip-bad-method", "method is not a token");
  Message m;
  m.method_ = m.keep(method);
  m.version_ = "SIP/2.0";
  auto uri = parse_uri(m.keep(request_uri), m.limits_.max_params);
  if (!uri) return uri.error();
  m.request_uri_ = *uri;
  return m;
}

Message Message::response(int status, std::string_view reason) {
  Message m;
  m.status_ = status < 100 || status > 699 ? 500 : status;
  m.reason_ = m.keep(reason);
  m.version_ = "SIP/2.0";
  return m;
}

void Message::add_header(std::string_view name, std::string_view value) {
  std::string_view n = keep(name);
  std::string_view v = keep(value);
  HeaderId id = lookup_header(n);
  if (id == HeaderId::kContentLength) {
    auto len = text::parse_uint(v, UINT32_MAX);
    if (len) content_length_ = static_cast<std::uint32_t>(*len);
  }
  headers_.push_back(Header{n, v, id});
}

void Message::remove_headers(HeaderId id) {
  std::erase_if(headers_, [id](const Header& h) { return h.id == id; });
  if (id == HeaderId::kContentLength) content_length_.reset();
}

void Message::set_body(std::string_view content_type, std::string_view body) {
  remove_headers(HeaderId::kContentType);
  remove_headers(HeaderId::kContentLength);
  if (!body.empty()) add_header(HeaderId::kContentType, content_type);
  add_header(HeaderId::kContentLength, std::to_string(body.size()));
  body_ = keep(body);
  body_truncated_ = false;
}

std::string serialize(const Message& m) {
  std::string out;
  std::size_t size = 64 + m.body().size();
  for (const auto& h : m.headers()) size += h.name.size() + h.value.size() + 24;
  out.reserve(size);
  if (m.is_request()) {
    out.append(m.method()).append(" ").append(m.request_uri().raw).append(" ").append(m.version());
  } else {
    out.append(m.version()).append(" ").append(std::to_string(m.status())).append(" ").append(m.reason());
  }
  out.append("\r\n");
  for (const auto& h : m.headers()) {
    out.append(h.id == HeaderId::kOther ? h.name : header_name(h.id)).append(": ").append(h.value).append("\r\n");
  }
  out.append("\r\n").append(m.body());
  return out;
}

bool equivalent(const Message& a, const Message& b) {
  if (a.is_request() != b.is_request()) return false;
  if (a.is_request()) {
    if (a.method() != b.method() || a.request_uri().raw != b.request_uri().raw) return false;
  } else if (a.status() != b.status() || a.reason() != b.reason()) {
    return false;
  }
  if (!text::iequals(a.version(), b.version())) return false;
  const auto& ha = a.headers();
  const auto& hb = b.headers();
  if (ha.size() != hb.size()) return false;
  for (std::size_t i = 0; i < ha.size(); ++i) {
    if (ha[i].id != hb[i].id || ha[i].value != hb[i].value) return false;
    if (ha[i].id == HeaderId::kOther && !text::iequals(ha[i].name, hb[i].name)) return false;
  }
  return a.body() == b.body();
}

}  // namespace exphone::sip
