#include "tools/diag/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace exphone::diag {

std::string html_escape(std::string_view in) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(in.size() + 16);
  for (std::size_t i = 0; i < in.size();) {
    auto c = static_cast<unsigned char>(in[i]);
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&#39;"; ++i; continue;
      default: break;
    }
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') out += kReplacement;  // NUL and controls
      else if (c == 0x7f) out += kReplacement;
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    // UTF-8 (RFC 3629 4): the sequence length from the lead byte, continuation bytes 10xxxxxx,
    // no overlong forms, no surrogates, nothing above U+10FFFF.
    std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c <= 0xef ? 3 : 0) : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && i + len <= in.size();
    std::uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = cp << 6 | (cc & 0x3f);
    }
    if (ok) ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
                 !(cp >= 0xd800 && cp <= 0xdfff);
    if (!ok) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

namespace {

std::string esc(std::string_view s) { return html_escape(s); }
std::string esc(const Endpoint& e) { return html_escape(to_string(e)); }

std::string num(double v, int decimals = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

constexpr const char* kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin:0 0 16px;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 12px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}
td.ok{background:#e6f4ea;color:#1e5e2f}td.bad{background:#fde7e7;color:#8a1c1c;font-weight:600}
td.warn{background:#fff4e0;color:#7a4b00}td.na{color:#777}
.sev-critical{background:#8a1c1c;color:#fff;font-weight:700}.sev-error{background:#fde7e7;color:#8a1c1c;font-weight:600}
.sev-warning{background:#fff4e0;color:#7a4b00}.sev-info{color:#555}
section.call{border-top:2px solid #ddd;margin-top:24px}
svg{display:block;margin:6px 0 12px;background:#fcfcfc;border:1px solid #e3e3e3}
svg text{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11px;fill:#222}
svg .col{stroke:#9e9e9e;stroke-dasharray:4 3}
svg .head{font-weight:700}
svg .arrow{stroke:#1a4f8b;stroke-width:1.4}
svg .arrow.tls{stroke:#2e7d32}
svg .time{fill:#777}
svg .bar-srtp{fill:#2e7d32}svg .bar-rtp{fill:#e65100}svg .bar-fail{fill:#c62828}svg .bar-other{fill:#607d8b}
svg .missing{fill:#c62828;font-weight:700}
svg .axis{stroke:#bbb}svg .tick{stroke:#ddd}svg .sipmark{stroke:#1a4f8b;stroke-dasharray:2 2}
svg .lock rect{fill:#2e7d32}svg .lock path{fill:none;stroke:#2e7d32;stroke-width:1.6}
ul.diag{margin:4px 0 8px;padding-left:20px}ul.diag li{color:#8a1c1c}
.legend span{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
)css";

struct Arrow {
  double time = 0;
  Endpoint src, dst;
  std::string label;      // plain text, escaped on output
  std::string transport;  // "udp", "tcp", "tls"
  bool encrypted = false;
};

// TLS 1.3 (RFC 8446 2) sends the rest of its handshake after the ServerHello in application-data
// records too. Each side's encrypted flight ends with its Finished, whose record is 4 + Hash.length
// + 1 (inner content type) + the AEAD tag: 69 bytes for the SHA-384 suite, 53 for the SHA-256 ones
// (45 for CCM_8), unpadded as OpenSSL and most stacks send it. The records of a side up to its
// first one of that length are handshake; without one (padding), the server's records before the
// client's first one and the client's first one. Post-handshake messages (session tickets) cannot
// be told from SIP and are drawn as encrypted SIP.
std::vector<Arrow> tls_arrows(const SignalingFlow& f) {
  std::vector<Arrow> out;
  bool tls13 = f.tls_version == "TLSv1.3";
  std::size_t finished = f.tls_cipher == "0x1302" ? 69 : f.tls_cipher == "0x1305" ? 45 : 53;
  // Index of each side's Finished (a = client) among the records, if one has the length.
  std::size_t fin[2] = {SIZE_MAX, SIZE_MAX};
  if (tls13)
    for (std::size_t i = 0; i < f.records.size(); ++i) {
      const auto& rec = f.records[i];
      int side = rec.src == f.a ? 0 : 1;
      if (rec.content_type == 23 && rec.length == finished && fin[side] == SIZE_MAX &&
          (side == 1 || fin[1] != SIZE_MAX))  // the client's comes after the server's
        fin[side] = i;
    }
  bool client_app_seen = false;
  for (std::size_t i = 0; i < f.records.size(); ++i) {
    const auto& rec = f.records[i];
    bool from_client = rec.src == f.a;
    std::string what;
    switch (rec.content_type) {
      case 20: what = "TLS ChangeCipherSpec"; break;
      case 21: what = "TLS alert (encrypted)"; break;
      case 22: what = "TLS handshake"; break;
      case 23: {
        bool hs = false;
        if (tls13) {
          std::size_t f_side = fin[from_client ? 0 : 1];
          if (fin[0] != SIZE_MAX && fin[1] != SIZE_MAX) hs = i <= f_side;
          else hs = !client_app_seen;
        }
        if (from_client) client_app_seen = true;
        what = hs ? "TLS handshake (encrypted)" : "encrypted SIP";
        break;
      }
      default: what = "TLS record type " + std::to_string(rec.content_type);
    }
    out.push_back(Arrow{rec.time, rec.src, rec.dst, what + ", " + std::to_string(rec.length) + " B", "tls",
                        rec.content_type != 22});
  }
  return out;
}

void lock_icon(std::ostringstream& o, double x, double y) {
  o << "<g class=\"lock\" transform=\"translate(" << num(x) << "," << num(y) << ")\"><title>encrypted hop</title>"
    << "<path d=\"M2.5 5 V3 a3 3 0 0 1 6 0 V5\"/><rect x=\"0.5\" y=\"5\" width=\"10\" height=\"7\" rx=\"1\"/></g>";
}

constexpr std::size_t kMaxArrows = 300;

void ladder_svg(std::ostringstream& o, std::vector<Arrow> arrows, std::size_t call_index) {
  std::stable_sort(arrows.begin(), arrows.end(), [](const Arrow& a, const Arrow& b) { return a.time < b.time; });
  std::size_t hidden = arrows.size() > kMaxArrows ? arrows.size() - kMaxArrows : 0;
  if (hidden) arrows.resize(kMaxArrows);
  std::vector<Endpoint> cols;
  for (const auto& a : arrows)
    for (const auto* e : {&a.src, &a.dst})
      if (std::find(cols.begin(), cols.end(), *e) == cols.end()) cols.push_back(*e);
  if (arrows.empty()) {
    o << "<p class=\"meta\">no signaling of this call in the capture</p>\n";
    return;
  }
  const double left = 90, colw = 300, top = 44, row = 30;
  double width = left + colw * static_cast<double>(cols.size()) - colw / 2 + 40;
  double height = top + row * static_cast<double>(arrows.size()) + 20;
  auto x_of = [&](const Endpoint& e) {
    auto i = static_cast<double>(std::find(cols.begin(), cols.end(), e) - cols.begin());
    return left + 20 + i * colw;
  };
  double t0 = arrows.front().time;
  o << "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width, 0) << "\" height=\""
    << num(height, 0) << "\" viewBox=\"0 0 " << num(width, 0) << " " << num(height, 0)
    << "\" role=\"img\" aria-label=\"SIP ladder\">"
    << "<defs><marker id=\"ah" << call_index << "\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
       "orient=\"auto-start-reverse\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"#1a4f8b\"/></marker></defs>";
  for (const auto& c : cols) {
    double x = x_of(c);
    o << "<text class=\"head\" x=\"" << num(x) << "\" y=\"18\" text-anchor=\"middle\">" << esc(c) << "</text>"
      << "<line class=\"col\" x1=\"" << num(x) << "\" y1=\"26\" x2=\"" << num(x) << "\" y2=\"" << num(height - 6)
      << "\"/>";
  }
  double y = top;
  for (const auto& a : arrows) {
    double x1 = x_of(a.src), x2 = x_of(a.dst);
    o << "<g class=\"msg\"><title>" << esc(a.label) << " [" << esc(a.transport) << "] " << esc(a.src) << " -> "
      << esc(a.dst) << "</title>";
    o << "<text class=\"time\" x=\"4\" y=\"" << num(y + 4) << "\">+" << num(a.time - t0, 3) << "</text>";
    if (x1 != x2) {
      o << "<line class=\"arrow" << (a.transport == "tls" ? " tls" : "") << "\" x1=\"" << num(x1) << "\" y1=\""
        << num(y) << "\" x2=\"" << num(x2) << "\" y2=\"" << num(y) << "\" marker-end=\"url(#ah" << call_index << ")\"/>";
    }
    double mid = (x1 + x2) / 2;
    o << "<text x=\"" << num(mid) << "\" y=\"" << num(y - 5) << "\" text-anchor=\"middle\">" << esc(a.label) << " ["
      << esc(a.transport) << "]</text>";
    if (a.encrypted) lock_icon(o, std::min(x1, x2) - 18, y - 7);  // left of the arrow, clear of its label
    o << "</g>";
    y += row;
  }
  o << "</svg>\n";
  if (hidden) o << "<p class=\"meta\">" << hidden << " more message(s) not drawn</p>\n";
}

double nice_step(double span) {
  const double steps[] = {0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600};
  for (double s : steps)
    if (span / s <= 12) return s;
  return std::ceil(span / 12 / 3600) * 3600;
}

void timeline_svg(std::ostringstream& o, const Report& r, const CallReport& c, const std::vector<Arrow>& sip) {
  auto stream = [&](int id) -> const StreamReport* {
    for (const auto& s : r.streams)
      if (s.id == id) return &s;
    return nullptr;
  };
  const DirectionVerdict* dirs[2] = {&c.caller_to_callee, &c.callee_to_caller};
  const char* names[2] = {"caller \xE2\x86\x92 callee", "callee \xE2\x86\x92 caller"};
  double t0 = INFINITY, t1 = -INFINITY;
  for (const auto* d : dirs)
    for (int id : d->streams)
      if (const auto* s = stream(id)) { t0 = std::min(t0, s->first_time); t1 = std::max(t1, s->last_time); }
  for (const auto& a : sip) { t0 = std::min(t0, a.time); t1 = std::max(t1, a.time); }
  if (!std::isfinite(t0)) {
    o << "<p class=\"meta\">no media or signaling times for a timeline</p>\n";
    return;
  }
  if (t1 - t0 < 0.1) t1 = t0 + 0.1;
  const double left = 300, plot = 760, row = 34, top = 34;
  double width = left + plot + 30, height = top + row * 2 + 34;
  double scale = plot / (t1 - t0);
  auto x_of = [&](double t) { return left + (t - t0) * scale; };
  o << "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width, 0) << "\" height=\""
    << num(height, 0) << "\" viewBox=\"0 0 " << num(width, 0) << " " << num(height, 0)
    << "\" role=\"img\" aria-label=\"media packet timeline\">";
  // Axis: seconds from the first event.
  double step = nice_step(t1 - t0);
  double axis_y = top + row * 2 + 6;
  o << "<line class=\"axis\" x1=\"" << num(left) << "\" y1=\"" << num(axis_y) << "\" x2=\"" << num(left + plot)
    << "\" y2=\"" << num(axis_y) << "\"/>";
  for (double t = 0; t <= t1 - t0 + 1e-9; t += step) {
    double x = x_of(t0 + t);
    o << "<line class=\"tick\" x1=\"" << num(x) << "\" y1=\"" << num(top - 6) << "\" x2=\"" << num(x) << "\" y2=\""
      << num(axis_y + 4) << "\"/><text class=\"time\" x=\"" << num(x) << "\" y=\"" << num(axis_y + 16)
      << "\" text-anchor=\"middle\">" << num(t, step < 1 ? 2 : 0) << " s</text>";
  }
  // Signaling moments, so media that stops after a re-INVITE or never starts after the 200 shows.
  for (const auto& a : sip) {
    double x = x_of(a.time);
    o << "<line class=\"sipmark\" x1=\"" << num(x) << "\" y1=\"" << num(top - 14) << "\" x2=\"" << num(x)
      << "\" y2=\"" << num(axis_y) << "\"><title>" << esc(a.label) << " +" << num(a.time - t0, 3)
      << " s</title></line>";
  }
  o << "<text class=\"time\" x=\"" << num(left) << "\" y=\"14\">signaling (dashed) and media packets, "
    << num(t1 - t0, 2) << " s</text>";
  for (int i = 0; i < 2; ++i) {
    const auto& d = *dirs[i];
    double y = top + row * i;
    std::uint64_t packets = 0;
    for (int id : d.streams)
      if (const auto* s = stream(id)) packets += s->packets;
    o << "<g class=\"dir\" data-direction=\"" << (i == 0 ? "caller_to_callee" : "callee_to_caller") << "\">"
      << "<text x=\"4\" y=\"" << num(y + 14) << "\">" << names[i] << ": " << packets << " packets</text>";
    if (!d.seen) {
      o << "<text class=\"missing\" x=\"" << num(left + 8) << "\" y=\"" << num(y + 14)
        << "\">no packets in this direction</text></g>";
      continue;
    }
    for (int id : d.streams) {
      const auto* s = stream(id);
      if (!s) continue;
      const char* cls = s->auth_failures > 0 && s->decrypted == 0 ? "bar-fail"
                        : s->kind == "srtp"                       ? "bar-srtp"
                        : s->kind == "rtp"                        ? "bar-rtp"
                                                                  : "bar-other";
      for (const auto& run : s->activity) {
        double x = x_of(run.start), w = std::max(2.0, (run.end - run.start) * scale);
        o << "<rect class=\"" << cls << "\" x=\"" << num(x) << "\" y=\"" << num(y + 2) << "\" width=\"" << num(w)
          << "\" height=\"18\"><title>stream " << s->id << " " << esc(s->src) << " -> " << esc(s->dst) << " "
          << esc(s->kind) << ": " << run.packets << " packets, +" << num(run.start - t0, 3) << " .. +"
          << num(run.end - t0, 3) << " s</title></rect>";
      }
    }
    o << "</g>";
  }
  o << "</svg>\n<p class=\"legend meta\">bars:<span style=\"background:#2e7d32\"></span>SRTP"
       "<span style=\"background:#e65100\"></span>plain RTP<span style=\"background:#c62828\"></span>SRTP that "
       "did not authenticate with the key log<span style=\"background:#607d8b\"></span>other; a gap is more than "
    << num(kActivityGap * 1000, 0) << " ms without a packet</p>\n";
}

std::string media_cell(const DirectionVerdict& d) {
  if (!d.seen) return "<td class=\"bad\">no packets</td>";
  if (d.encrypted) return "<td class=\"ok\">SRTP, " + std::to_string(d.packets) + " packets</td>";
  return "<td class=\"warn\">plain RTP, " + std::to_string(d.packets) + " packets</td>";
}

std::string call_title(const CallReport& c) {
  if (!c.call_id.empty()) return "Call " + esc(c.call_id);
  return "Media " + (c.caller_media ? esc(*c.caller_media) : std::string("?")) + " \xE2\x86\x94 " +
         (c.callee_media ? esc(*c.callee_media) : std::string("?")) + " (signaling not readable)";
}

// The TLS connections that may carry a call whose SIP is not readable: those between the
// addresses its media uses (the capture cannot say more).
std::vector<Arrow> tls_for_call(const Report& r, const CallReport& c) {
  std::set<std::string> ips;
  for (const auto* d : {&c.caller_to_callee, &c.callee_to_caller})
    for (int id : d->streams)
      for (const auto& s : r.streams)
        if (s.id == id) { ips.insert(s.src.ip); ips.insert(s.dst.ip); }
  if (c.caller_media) ips.insert(c.caller_media->ip);
  if (c.callee_media) ips.insert(c.callee_media->ip);
  std::vector<Arrow> out;
  for (const auto& f : r.signaling) {
    if (f.transport != "tls" || (!ips.count(f.a.ip) && !ips.count(f.b.ip))) continue;
    auto a = tls_arrows(f);
    out.insert(out.end(), a.begin(), a.end());
  }
  return out;
}

}  // namespace

std::string to_html(const Report& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
    << "<title>exphone diag: " << esc(r.capture) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n"
    << "<h1>exphone diag</h1>\n<p class=\"meta\">" << esc(r.capture) << ": " << esc(r.stats.format) << ", "
    << r.stats.frames << " frames, " << r.stats.decoded << " UDP/TCP packets"
    << (r.stats.truncated ? ", <strong>truncated</strong>" : "") << "</p>\n";

  // The verdict table.
  o << "<h2>Verdicts</h2>\n<table id=\"verdicts\" class=\"verdicts\">\n<tr><th>call</th><th>signaling</th>"
       "<th>media caller \xE2\x86\x92 callee</th><th>media callee \xE2\x86\x92 caller</th><th>keys exposed</th>"
       "<th>padlock-equivalent</th><th>diagnosis</th></tr>\n";
  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    const auto& c = r.calls[i];
    o << "<tr><td><a href=\"#call-" << i + 1 << "\">" << call_title(c) << "</a></td>";
    o << (c.signaling_encrypted ? "<td class=\"ok\">encrypted (" : "<td class=\"warn\">in clear (") << esc(c.transport)
      << ")</td>";
    o << media_cell(c.caller_to_callee) << media_cell(c.callee_to_caller);
    o << (c.keys_exposed ? "<td class=\"bad\">yes</td>" : "<td class=\"ok\">no</td>");
    o << (c.padlock_equivalent ? "<td class=\"ok\">yes</td>" : "<td class=\"bad\">no</td>");
    o << "<td>";
    for (std::size_t k = 0; k < c.diagnosis.size(); ++k) o << (k ? "<br>" : "") << esc(c.diagnosis[k]);
    o << "</td></tr>\n";
  }
  if (r.calls.empty()) o << "<tr><td colspan=\"7\" class=\"na\">no call found in the capture</td></tr>\n";
  o << "</table>\n";

  o << "<h2>Findings</h2>\n<table id=\"findings\">\n<tr><th>severity</th><th>finding</th><th>message</th></tr>\n";
  for (const auto& f : r.findings)
    o << "<tr><td class=\"sev-" << to_string(f.severity) << "\">" << to_string(f.severity) << "</td><td>"
      << esc(f.id) << "</td><td>" << esc(f.message) << "</td></tr>\n";
  if (r.findings.empty()) o << "<tr><td colspan=\"3\" class=\"na\">none</td></tr>\n";
  o << "</table>\n";

  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    const auto& c = r.calls[i];
    o << "<section class=\"call\" id=\"call-" << i + 1 << "\">\n<h2>" << call_title(c) << "</h2>\n";
    if (!c.from.empty() || !c.to.empty())
      o << "<p class=\"meta\">From: " << esc(c.from) << "<br>To: " << esc(c.to) << "</p>\n";
    o << "<p class=\"meta\">transport " << esc(c.transport);
    if (c.final_status) o << ", final status " << c.final_status;
    o << (c.answered ? ", answered" : "") << "</p>\n";
    if (!c.diagnosis.empty()) {
      o << "<ul class=\"diag\">";
      for (const auto& d : c.diagnosis) o << "<li>" << esc(d) << "</li>";
      o << "</ul>\n";
    }
    std::vector<Arrow> sip;
    for (const auto& e : c.events) sip.push_back(Arrow{e.time, e.src, e.dst, e.label, e.transport, false});
    if (c.transport == "unreadable") sip = tls_for_call(r, c);
    o << "<h3>SIP ladder</h3>\n";
    ladder_svg(o, sip, i + 1);
    o << "<h3>Media timeline</h3>\n";
    timeline_svg(o, r, c, sip);
    o << "</section>\n";
  }

  o << "<h2>Streams</h2>\n<table id=\"streams\">\n<tr><th>id</th><th>source</th><th>destination</th><th>kind</th>"
       "<th>evidence</th><th>direction</th><th>packets</th><th>lost</th><th>jitter ms</th><th>SRTP decrypted / "
       "auth failures</th></tr>\n";
  for (const auto& s : r.streams) {
    o << "<tr><td>" << s.id << "</td><td>" << esc(s.src) << "</td><td>" << esc(s.dst) << "</td><td>" << esc(s.kind)
      << "</td><td>" << esc(s.evidence) << "</td><td>" << esc(s.direction) << "</td><td>" << s.packets
      << "</td><td>" << s.lost << "</td><td>" << num(s.jitter_ms) << "</td><td>";
    if (s.key_found) o << s.decrypted << " / " << s.auth_failures;
    else o << "no key";
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  o << "<h2>Signaling connections</h2>\n<table id=\"signaling\">\n<tr><th>a</th><th>b</th><th>transport</th>"
       "<th>TLS</th><th>SIP messages</th></tr>\n";
  for (const auto& f : r.signaling)
    o << "<tr><td>" << esc(f.a) << "</td><td>" << esc(f.b) << "</td><td>" << esc(f.transport) << "</td><td>"
      << esc(f.tls_version) << (f.tls_cipher.empty() ? "" : " " + esc(f.tls_cipher)) << "</td><td>"
      << f.sip_messages << "</td></tr>\n";
  o << "</table>\n</body>\n</html>\n";
  return o.str();
}

Status write_html(const Report& r, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error("diag-html-write", path + ": cannot create");
  out << to_html(r);
  out.close();
  if (!out) return make_error("diag-html-write", path + ": write failed");
  return Ok{};
}

}  // namespace exphone::diag
