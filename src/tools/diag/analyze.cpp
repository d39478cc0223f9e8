// The capture walk of diag.h: flows, SIP/SDP, TLS, media classification, verdicts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sdp/session.h"
#include "sip/framer.h"
#include "sip/message.h"
#include "tools/diag/diag.h"
#include "tools/diag/media_stream.h"
#include "tools/diag/tcp_stream.h"

namespace exphone::diag {

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
    case Severity::kCritical: return "critical";
  }
  return "info";
}

namespace {

using FlowKey = std::pair<Endpoint, Endpoint>;  // src, dst

struct SdpSide {
  std::optional<Endpoint> media;
  std::string proto;
  bool srtp = false;
  std::map<int, std::pair<std::string, std::uint32_t>> rtpmaps;  // pt -> encoding, clock
};

struct Call {
  CallReport r;
  bool have_caller = false;
  SdpSide caller_sdp, callee_sdp;
};

// TLS record walk (RFC 8446 5.1, 4.1.3; RFC 5246 7.4.1.3): versions from the ServerHello.
struct TlsSniffer {
  std::vector<std::uint8_t> buf;
  bool done = false;
  std::string version, cipher;
  void feed(std::span<const std::uint8_t> d) {
    if (done) return;
    buf.insert(buf.end(), d.begin(), d.end());
    std::size_t off = 0;
    while (off + 5 <= buf.size()) {
      std::size_t len = static_cast<std::size_t>(buf[off + 3] << 8 | buf[off + 4]);
      if (off + 5 + len > buf.size()) break;
      if (buf[off] == 22 && len >= 4 && buf[off + 5] == 2) server_hello(&buf[off + 9], len - 4);
      off += 5 + len;
      if (done) return;
    }
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(off));
    if (buf.size() > 64 * 1024) done = true;  // never a ServerHello: stop buffering
  }
  static std::string name(unsigned v) {
    switch (v) {
      case 0x0300: return "SSLv3";
      case 0x0301: return "TLSv1.0";
      case 0x0302: return "TLSv1.1";
      case 0x0303: return "TLSv1.2";
      case 0x0304: return "TLSv1.3";
    }
    char b[16];
    std::snprintf(b, sizeof b, "0x%04x", v);
    return b;
  }
  void server_hello(const std::uint8_t* p, std::size_t n) {
    done = true;
    if (n < 38) return;
    unsigned legacy = static_cast<unsigned>(p[0] << 8 | p[1]);
    std::size_t off = 34;
    std::size_t sid = p[off];
    off += 1 + sid;
    if (off + 3 > n) { version = name(legacy); return; }
    char b[16];
    std::snprintf(b, sizeof b, "0x%02x%02x", p[off], p[off + 1]);
    cipher = b;
    off += 3;
    unsigned selected = legacy;
    if (off + 2 <= n) {
      std::size_t ext_end = std::min(n, off + 2 + static_cast<std::size_t>(p[off] << 8 | p[off + 1]));
      off += 2;
      while (off + 4 <= ext_end) {
        unsigned type = static_cast<unsigned>(p[off] << 8 | p[off + 1]);
        std::size_t elen = static_cast<std::size_t>(p[off + 2] << 8 | p[off + 3]);
        if (type == 0x002b && elen == 2 && off + 6 <= ext_end)  // supported_versions, RFC 8446 4.2.1
          selected = static_cast<unsigned>(p[off + 4] << 8 | p[off + 5]);
        off += 4 + elen;
      }
    }
    version = name(selected);
  }
};

// TLS record boundaries (RFC 8446 5.1: type, legacy version, 16-bit length) over a byte stream
// that arrives in pieces; `on_record(type, length)` is called at each record header.
struct TlsRecordWalker {
  std::uint8_t hdr[5] = {};
  std::size_t hdr_have = 0, body_left = 0;
  template <class F>
  void feed(std::span<const std::uint8_t> d, F&& on_record) {
    std::size_t off = 0;
    while (off < d.size()) {
      if (body_left > 0) {
        std::size_t n = std::min(body_left, d.size() - off);
        body_left -= n;
        off += n;
        continue;
      }
      hdr[hdr_have++] = d[off++];
      if (hdr_have == 5) {
        hdr_have = 0;
        body_left = static_cast<std::size_t>(hdr[3] << 8 | hdr[4]);
        on_record(static_cast<int>(hdr[0]), body_left);
      }
    }
  }
};

struct TcpSide {
  TcpDirection reasm;
  TlsRecordWalker records;
  enum class Kind { kUnknown, kSip, kTls, kOther } kind = Kind::kUnknown;
  sip::StreamFramer framer{true};
  bool framer_failed = false;
  TlsSniffer tls;
};

bool looks_like_sip(std::span<const std::uint8_t> d) {
  if (d.size() < 8 || d[0] < 'A' || d[0] > 'Z') return false;
  std::string_view s(reinterpret_cast<const char*>(d.data()), std::min<std::size_t>(d.size(), 256));
  auto eol = s.find("\r\n");
  std::string_view first = s.substr(0, eol);
  return first.starts_with("SIP/2.0 ") || first.ends_with(" SIP/2.0");
}

class Analyzer {
 public:
  explicit Analyzer(Report& r) : r_(r) {}

  void packet(const Packet& p) {
    if (p.l4 == L4::kTcp) return tcp(p);
    std::span<const std::uint8_t> d(p.payload);
    if (looks_like_sip(d)) {
      signaling_flow(p.src, p.dst, "udp").sip_messages++;
      sip_message(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), p, "udp");
      return;
    }
    auto key = FlowKey{p.src, p.dst};
    auto it = media_.find(key);
    if (it == media_.end()) {
      it = media_.emplace(key, MediaAccumulator(p.src, p.dst)).first;
      order_.push_back(key);
    }
    it->second.add(p.time, d, stored_bytes_);
  }

  void finish(const Options& o, const std::vector<SrtpKeyLine>& keys);

 private:
  SignalingFlow& signaling_flow(const Endpoint& src, const Endpoint& dst, const std::string& transport) {
    for (auto& f : r_.signaling)
      if ((f.a == src && f.b == dst) || (f.a == dst && f.b == src)) return f;
    r_.signaling.push_back(SignalingFlow{src, dst, transport, "", "", 0, {}});
    return r_.signaling.back();
  }

  void tcp(const Packet& p) {
    auto& side = tcp_[FlowKey{p.src, p.dst}];
    side.reasm.segment(p.seq, p.syn, p.payload, [&](std::span<const std::uint8_t> d) {
      if (side.kind == TcpSide::Kind::kUnknown && !d.empty()) {
        if (d.size() >= 3 && d[0] == 22 && d[1] == 3) {  // handshake record, RFC 8446 5.1
          side.kind = TcpSide::Kind::kTls;
          auto& f = signaling_flow(p.src, p.dst, "tls");
          f.transport = "tls";
          ++r_.tls_handshakes;
        } else if (looks_like_sip(d)) {
          side.kind = TcpSide::Kind::kSip;
          signaling_flow(p.src, p.dst, "tcp");
        } else if (d[0] == 22 || d[0] == 23 || d[0] == 21 || d[0] == 20) {
          side.kind = TcpSide::Kind::kTls;  // the other direction of a TLS connection
          signaling_flow(p.src, p.dst, "tls").transport = "tls";
        } else {
          side.kind = TcpSide::Kind::kOther;
        }
      }
      if (side.kind == TcpSide::Kind::kTls) {
        auto& flow = signaling_flow(p.src, p.dst, "tls");
        side.records.feed(d, [&](int type, std::size_t len) {
          if (flow.records.size() < kMaxTlsRecordsPerFlow) flow.records.push_back(TlsRecord{p.time, p.src, p.dst, type, len});
        });
        side.tls.feed(d);
        if (!side.tls.version.empty()) {
          auto& f = signaling_flow(p.src, p.dst, "tls");
          f.tls_version = side.tls.version;
          f.tls_cipher = side.tls.cipher;
        }
      } else if (side.kind == TcpSide::Kind::kSip && !side.framer_failed) {
        if (!side.framer.feed(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()))) {
          side.framer_failed = true;
          return;
        }
        for (;;) {
          std::string msg;
          auto ev = side.framer.next(&msg);
          if (!ev) { side.framer_failed = true; break; }
          if (*ev == sip::StreamFramer::Event::kNeedMore) break;
          if (*ev != sip::StreamFramer::Event::kMessage) continue;
          signaling_flow(p.src, p.dst, "tcp").sip_messages++;
          sip_message(msg, p, "tcp");
        }
      }
    });
  }

  void sip_message(std::string_view bytes, const Packet& p, const std::string& transport) {
    auto m = sip::Message::parse(bytes);
    if (!m) {
      ++sip_unparsable_;
      return;
    }
    std::string cid(m->call_id());
    if (cid.empty()) return;
    auto cseq = m->cseq();
    std::string method = cseq ? std::string(cseq->method) : std::string(m->method());
    if (m->is_request() && m->method() != "INVITE" && !calls_.count(cid)) return;  // not a call
    if (m->is_response() && method != "INVITE" && !calls_.count(cid)) return;
    auto& c = calls_[cid];
    if (c.r.call_id.empty()) {
      c.r.call_id = cid;
      c.r.transport = transport;
      call_order_.push_back(cid);
    }
    if (!c.have_caller && m->is_request() && m->method() == "INVITE") {
      c.have_caller = true;
      c.r.caller = p.src;
      c.r.callee = p.dst;
      if (const auto* h = m->find("From")) c.r.from = std::string(h->value);
      if (const auto* h = m->find("To")) c.r.to = std::string(h->value);
    }
    std::ostringstream lad;
    lad.setf(std::ios::fixed);
    lad.precision(3);
    lad << p.time << " " << to_string(p.src) << " -> " << to_string(p.dst) << " "
        << (m->is_request() ? std::string(m->method()) : std::to_string(m->status()) + " (" + method + ")")
        << " [" << transport << "]";
    if (c.r.ladder.size() < 200) {
      c.r.ladder.push_back(lad.str());
      std::string label = m->is_request() ? std::string(m->method())
                                          : std::to_string(m->status()) + " " + std::string(m->reason()) + " (" + method + ")";
      c.r.events.push_back(CallReport::LadderEvent{p.time, p.src, p.dst, std::move(label), transport});
    }
    if (m->is_response() && method == "INVITE" && m->status() >= 200) {
      c.r.final_status = m->status();
      if (m->status() < 300) c.r.answered = true;
    }
    auto ct = m->content_type();
    if (m->body().empty() || !ct) return;
    if (!ct->is("application", "sdp")) return;
    auto sdp = sdp::parse(m->body());
    if (!sdp) return;
    bool from_caller = c.have_caller && p.src == c.r.caller;
    SdpSide& side = from_caller ? c.caller_sdp : c.callee_sdp;
    for (const auto& md : sdp->media()) {
      if (md.media != "audio" || md.rejected()) continue;
      side = SdpSide{};
      side.proto = md.proto;
      side.srtp = md.is_srtp();
      if (const auto* conn = md.connection(*sdp)) {
        std::string ip = conn->address;
        auto slash = ip.find('/');
        if (slash != std::string::npos) ip.resize(slash);
        side.media = Endpoint{ip, md.port};
      }
      for (auto pt : md.payload_types())
        if (auto rm = md.rtpmap(pt)) side.rtpmaps[pt] = {rm->encoding, rm->clock_rate};
      for (const auto& cr : md.cryptos())
        if (cr && !cr->keys.empty() && transport != "tls") {
          if (!c.r.keys_exposed)
            r_.findings.push_back({"keys-exposed", Severity::kCritical, cid,
                                   "a=crypto master key of call " + cid + " in cleartext SIP (" + transport + ", " +
                                       to_string(p.src) + " -> " + to_string(p.dst) +
                                       "): anyone holding this capture can decrypt its audio; use SIP over TLS "
                                       "(sips:) for SDES, or DTLS-SRTP"});
          c.r.keys_exposed = true;
        }
      break;  // first audio stream
    }
  }

  Report& r_;
  std::map<FlowKey, TcpSide> tcp_;
  std::map<FlowKey, MediaAccumulator> media_;
  std::vector<FlowKey> order_;
  std::map<std::string, Call> calls_;
  std::vector<std::string> call_order_;
  std::uint64_t sip_unparsable_ = 0;
  std::size_t stored_bytes_ = 0;
};

const std::pair<std::string, std::uint32_t>* rtpmap_for(const Call* c, int pt, bool to_callee) {
  if (!c) return nullptr;
  // RFC 3264 5.1: the payload type numbers are those of the receiver's SDP; fall back to the sender's.
  const SdpSide& rx = to_callee ? c->callee_sdp : c->caller_sdp;
  const SdpSide& tx = to_callee ? c->caller_sdp : c->callee_sdp;
  if (auto it = rx.rtpmaps.find(pt); it != rx.rtpmaps.end()) return &it->second;
  if (auto it = tx.rtpmaps.find(pt); it != tx.rtpmaps.end()) return &it->second;
  return nullptr;
}

void Analyzer::finish(const Options& o, const std::vector<SrtpKeyLine>& keys) {
  int next_id = 1;
  for (const auto& key : order_) {
    auto& acc = media_.at(key);
    StreamReport s = acc.summary();
    s.id = next_id++;
    // Association with a call through the SDP (receiver's address first, then symmetric RTP).
    Call* call = nullptr;
    bool to_callee = false;
    for (const auto& cid : call_order_) {
      auto& c = calls_.at(cid);
      if (c.callee_sdp.media && s.dst == *c.callee_sdp.media) { call = &c; to_callee = true; s.sdp_port_match = true; }
      else if (c.caller_sdp.media && s.dst == *c.caller_sdp.media) { call = &c; to_callee = false; s.sdp_port_match = true; }
      else if (c.caller_sdp.media && s.src == *c.caller_sdp.media) { call = &c; to_callee = true; }
      else if (c.callee_sdp.media && s.src == *c.callee_sdp.media) { call = &c; to_callee = false; }
      if (call) break;
    }
    // Keys: match by SSRC for outbound lines that carry one, else by addresses.
    std::vector<const SrtpKeyLine*> cands;
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      if (it->src() != s.src || it->dst() != s.dst) continue;
      if (it->ssrc && !s.ssrcs.empty() &&
          std::find(s.ssrcs.begin(), s.ssrcs.end(), *it->ssrc) == s.ssrcs.end())
        continue;
      cands.push_back(&*it);
    }
    if (!call && !cands.empty()) {
      const std::string& cid = cands.front()->call_id;
      auto& c = calls_[cid];
      if (c.r.call_id.empty()) {
        c.r.call_id = cid;
        c.r.transport = "unreadable";
        call_order_.push_back(cid);
      }
      call = &c;
      // The key log's local side is "ours": without signaling we cannot tell caller from callee,
      // so the first key line's local end is taken as the caller.
      if (!c.have_caller) {
        c.have_caller = true;
        c.r.caller = cands.front()->local;
        c.r.callee = cands.front()->remote;
      }
      to_callee = s.src == c.r.caller;
    }
    // Kind and encryption.
    if (s.kind == "rtp") {
      const SdpSide* sender = call ? (to_callee ? &call->caller_sdp : &call->callee_sdp) : nullptr;
      const SdpSide* receiver = call ? (to_callee ? &call->callee_sdp : &call->caller_sdp) : nullptr;
      bool sdp_srtp = (sender && sender->srtp) || (receiver && receiver->srtp);
      bool sdp_rtp = sender && !sender->proto.empty() && !sender->srtp;
      bool g711 = !s.payload_types.empty() && (s.payload_types.front() == 0 || s.payload_types.front() == 8);
      if (!cands.empty()) { s.kind = "srtp"; s.evidence = "srtp-keys"; }
      else if (g711 && s.entropy < 7.0 && s.rtp_packets >= 5) { s.kind = "rtp"; s.evidence = "g711-plausible"; }
      else if (sdp_srtp) { s.kind = "srtp"; s.evidence = "sdp"; }
      else if (sdp_rtp && s.entropy < 7.5) { s.kind = "rtp"; s.evidence = "sdp"; }
      else if (s.entropy >= 7.5) { s.kind = "srtp"; s.evidence = "entropy"; }
      else { s.kind = "rtp"; s.evidence = "entropy"; }
    }
    s.encrypted = s.kind == "srtp" || s.kind == "dtls";
    if (call) {
      s.call_id = call->r.call_id;
      s.direction = to_callee ? "caller->callee" : "callee->caller";
    }
    // Decryption and audio.
    if (s.kind == "srtp" && !cands.empty()) {
      s.key_found = true;
      acc.decrypt(cands, s);
    }
    if (o.out_dir && (s.kind == "rtp" || (s.kind == "srtp" && s.decrypted > 0))) {
      auto resolve = [&](int pt) -> std::pair<std::string, std::uint32_t> {
        if (auto* m = rtpmap_for(call, pt, to_callee)) return *m;
        if (auto st = sdp::static_rtpmap(static_cast<std::uint8_t>(pt))) return {st->encoding, st->clock_rate};
        return {"", 0};
      };
      std::string name = "stream" + std::to_string(s.id) + "_" + s.src.ip + "-" + std::to_string(s.src.port) +
                         "_to_" + s.dst.ip + "-" + std::to_string(s.dst.port) + ".wav";
      std::replace(name.begin(), name.end(), ':', '_');
      acc.write_audio(resolve, (std::filesystem::path(*o.out_dir) / name).string(), s);
    }
    if (call) {
      DirectionVerdict& d = to_callee ? call->r.caller_to_callee : call->r.callee_to_caller;
      if (s.kind == "rtp" || s.kind == "srtp") {
        d.streams.push_back(s.id);
        d.packets += s.rtp_packets;
        d.encrypted = (d.seen ? d.encrypted : true) && s.encrypted;
        d.seen = true;
      }
    }
    r_.streams.push_back(std::move(s));
  }
  // Media of unreadable signaling: pair the remaining RTP/SRTP flows by address into pseudo-calls.
  std::map<FlowKey, CallReport> pseudo;
  std::vector<FlowKey> pseudo_order;
  for (auto& s : r_.streams) {
    if (!s.call_id.empty() || (s.kind != "rtp" && s.kind != "srtp")) continue;
    FlowKey k = s.src < s.dst ? FlowKey{s.src, s.dst} : FlowKey{s.dst, s.src};
    auto [it, fresh] = pseudo.try_emplace(k);
    if (fresh) {
      pseudo_order.push_back(k);
      it->second.transport = "unreadable";
      it->second.caller_media = s.src;
      it->second.callee_media = s.dst;
    }
    bool fwd = s.src == *it->second.caller_media;
    s.direction = fwd ? "caller->callee" : "callee->caller";
    DirectionVerdict& d = fwd ? it->second.caller_to_callee : it->second.callee_to_caller;
    d.streams.push_back(s.id);
    d.packets += s.rtp_packets;
    d.encrypted = (d.seen ? d.encrypted : true) && s.encrypted;
    d.seen = true;
  }
  bool any_tls = std::any_of(r_.signaling.begin(), r_.signaling.end(), [](const auto& f) { return f.transport == "tls"; });
  auto verdict = [&](CallReport& c) {
    if (c.transport == "unreadable") c.signaling_encrypted = any_tls;
    else c.signaling_encrypted = c.transport == "tls";
    c.padlock_equivalent = c.signaling_encrypted && c.caller_to_callee.seen && c.callee_to_caller.seen &&
                           c.caller_to_callee.encrypted && c.callee_to_caller.encrypted && !c.keys_exposed;
  };
  for (const auto& cid : call_order_) {
    auto& c = calls_.at(cid);
    c.r.caller_media = c.caller_sdp.media;
    c.r.callee_media = c.callee_sdp.media;
    c.r.caller_proto = c.caller_sdp.proto;
    c.r.callee_proto = c.callee_sdp.proto;
    verdict(c.r);
    r_.calls.push_back(c.r);
  }
  for (const auto& k : pseudo_order) {
    verdict(pseudo[k]);
    r_.calls.push_back(pseudo[k]);
  }
  diagnose(r_);
  if (sip_unparsable_ > 0)
    r_.findings.push_back({"sip-unparsable", Severity::kInfo, "",
                           std::to_string(sip_unparsable_) + " SIP-looking message(s) did not parse (src/sip)"});
}

}  // namespace

Result<Report> analyze(const std::string& capture_path, const Options& options) {
  std::vector<SrtpKeyLine> keys;
  if (options.srtp_keys) {
    std::ifstream in(*options.srtp_keys, std::ios::binary);
    if (!in) return make_error("diag-keylog-unreadable", *options.srtp_keys + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    auto k = parse_srtp_keylog(ss.str());
    if (!k) return k.error();
    keys = std::move(*k);
  }
  if (options.out_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*options.out_dir, ec);
    if (ec) return make_error("diag-out-dir", *options.out_dir + ": " + ec.message());
  }
  Report r;
  r.capture = capture_path;
  Analyzer a(r);
  auto st = read_capture(capture_path, [&](const Packet& p) { a.packet(p); });
  if (!st) return st.error();
  r.stats = *st;
  a.finish(options, keys);
  if (r.stats.truncated)
    r.findings.push_back({"capture-truncated", Severity::kWarning, "",
                          "the capture ends in the middle of a record (" + r.stats.truncation_error +
                              "); what came before it is analysed"});
  if (options.tls_keylog && r.tls_handshakes > 0)
    r.findings.push_back({"tls-keylog-hint", Severity::kInfo, "",
                          "exphone diag does not decrypt TLS itself; read the SIP with: tshark -r " + capture_path +
                              " -o tls.keylog_file:" + *options.tls_keylog + " -Y sip"});
  return r;
}

}  // namespace exphone::diag
