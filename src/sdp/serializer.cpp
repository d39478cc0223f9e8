// Session -> canonical SDP text: RFC 8866 section 5 line order, CRLF, single spaces.
#include "sdp/session.h"

namespace exphone::sdp {
namespace {

class Writer {
 public:
  // Appends model text, dropping CR, LF and NUL so that no string can start a new line.
  Writer& text(std::string_view s) {
    for (char c : s)
      if (c != '\r' && c != '\n' && c != '\0') out_ += c;
    return *this;
  }
  Writer& num(std::uint64_t v) {
    out_ += std::to_string(v);
    return *this;
  }
  Writer& raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  Writer& line(char type) {
    out_ += type;
    out_ += '=';
    return *this;
  }
  void end() { out_ += "\r\n"; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void write_connection(Writer& w, const Connection& c) {
  w.line('c').text(c.net_type).raw(" ").text(c.addr_type).raw(" ").text(c.address);
  if (c.ttl) w.raw("/").num(*c.ttl);
  if (c.address_count) w.raw("/").num(*c.address_count);
  w.end();
}

void write_bandwidths(Writer& w, const std::vector<Bandwidth>& bs) {
  for (const auto& b : bs) {
    w.line('b').text(b.type).raw(":").num(b.value);
    w.end();
  }
}

void write_attributes(Writer& w, const AttributeList& as) {
  for (const auto& a : as) {
    w.line('a').text(a.name);
    if (a.value) w.raw(":").text(*a.value);
    w.end();
  }
}

}  // namespace

std::string serialize(const Session& s) {
  Writer w;
  w.line('v').num(s.version);
  w.end();
  const Origin& o = s.origin;
  w.line('o').text(o.username).raw(" ").num(o.session_id).raw(" ").num(o.session_version).raw(" ")
      .text(o.net_type).raw(" ").text(o.addr_type).raw(" ").text(o.address);
  w.end();
  // RFC 8866 5.3: "s= " (a single space) when there is no meaningful name.
  w.line('s').text(s.name.empty() ? std::string_view(" ") : std::string_view(s.name));
  w.end();
  if (s.information) { w.line('i').text(*s.information); w.end(); }
  if (s.uri) { w.line('u').text(*s.uri); w.end(); }
  for (const auto& e : s.emails) { w.line('e').text(e); w.end(); }
  for (const auto& p : s.phones) { w.line('p').text(p); w.end(); }
  if (s.connection) write_connection(w, *s.connection);
  write_bandwidths(w, s.bandwidths);
  if (s.timings.empty()) {
    w.line('t').raw("0 0");  // t= is mandatory on the wire
    w.end();
  }
  for (const auto& t : s.timings) {
    w.line('t').num(t.start).raw(" ").num(t.stop);
    w.end();
    for (const auto& r : t.repeats) { w.line('r').text(r); w.end(); }
  }
  if (s.zone_adjustments) { w.line('z').text(*s.zone_adjustments); w.end(); }
  if (s.key) { w.line('k').text(*s.key); w.end(); }
  write_attributes(w, s.attributes);

  for (const auto& m : s.media_descriptions) {
    w.line('m').text(m.media).raw(" ").num(m.port);
    if (m.port_count) w.raw("/").num(*m.port_count);
    w.raw(" ").text(m.proto);
    for (const auto& f : m.formats) w.raw(" ").text(f);
    w.end();
    if (m.information) { w.line('i').text(*m.information); w.end(); }
    for (const auto& c : m.connections) write_connection(w, c);
    write_bandwidths(w, m.bandwidths);
    if (m.key) { w.line('k').text(*m.key); w.end(); }
    write_attributes(w, m.attributes);
  }
  return w.take();
}

}  // namespace exphone::sdp
