#include "tools/diag/media_stream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "media/audio_codec.h"
#include "media/rtp.h"
#include "media/srtp_session.h"
#include "media/wav.h"

namespace exphone::diag {

void MediaAccumulator::add(double time, std::span<const std::uint8_t> d, std::size_t& stored_bytes) {
  if (packets_ == 0) first_ = time;
  last_ = time;
  ++packets_;
  if (activity_.empty() || (time - activity_.back().end > kActivityGap && activity_.size() < kMaxActivityRuns))
    activity_.push_back(ActivityRun{time, time, 0});
  activity_.back().end = std::max(activity_.back().end, time);
  ++activity_.back().packets;
  bytes_ += d.size();
  if (d.empty()) return void(++other_);
  std::uint8_t b = d[0];
  // RFC 7983 section 7 demultiplexing by the first byte.
  if (b <= 3) return void(++stun_);
  if (b >= 20 && b <= 63) return void(++dtls_);
  if (b < 128 || b > 191 || d.size() < 12) return void(++other_);
  if (d[1] >= 192 && d[1] <= 223) return void(++rtcp_);  // RFC 5761 4: RTCP packet types 192..223
  auto hs = media::rtp_header_size(d);
  if (!hs) return void(++other_);
  ++rtp_;
  std::uint8_t pt = d[1] & 0x7f;
  std::uint16_t seq = static_cast<std::uint16_t>(d[2] << 8 | d[3]);
  std::uint32_t ts = static_cast<std::uint32_t>(d[4]) << 24 | static_cast<std::uint32_t>(d[5]) << 16 |
                     static_cast<std::uint32_t>(d[6]) << 8 | d[7];
  std::uint32_t ssrc = static_cast<std::uint32_t>(d[8]) << 24 | static_cast<std::uint32_t>(d[9]) << 16 |
                       static_cast<std::uint32_t>(d[10]) << 8 | d[11];
  if (std::find(pts_.begin(), pts_.end(), pt) == pts_.end() && pts_.size() < 16) pts_.push_back(pt);
  auto it = std::find_if(ssrcs_.begin(), ssrcs_.end(), [&](const Ssrc& s) { return s.ssrc == ssrc; });
  if (it == ssrcs_.end()) {
    if (ssrcs_.size() >= 64) return;
    Ssrc s;
    s.ssrc = ssrc;
    s.base_ext = s.max_ext = seq;
    s.max_seq = seq;
    ssrcs_.push_back(s);
    it = ssrcs_.end() - 1;
  }
  // RFC 3550 A.1 extended sequence number (simplified: in-window forward steps and wraps).
  Ssrc& s = *it;
  std::uint16_t delta = static_cast<std::uint16_t>(seq - s.max_seq);
  if (s.received > 0 && delta > 0 && delta < 3000) {
    if (seq < s.max_seq) s.cycles += 65536;
    s.max_seq = seq;
    s.max_ext = s.cycles + seq;
  }
  ++s.received;
  // RFC 3550 A.8 interarrival jitter in RTP units; 8000 Hz unless learned otherwise (G.711/G.722
  // timestamps run at 8 kHz; the report converts with the same rate, so the ms figure holds).
  double rate = 8000;
  double transit = time * rate - static_cast<double>(ts);
  if (s.have_transit) {
    double dd = std::fabs(transit - s.last_transit);
    s.jitter += (dd - s.jitter) / 16.0;
  }
  s.last_transit = transit;
  s.have_transit = true;
  for (std::size_t i = *hs; i < d.size(); ++i) ++hist_[d[i]];
  hist_total_ += d.size() - *hs;
  if (stored_bytes + d.size() <= kMaxStoredMediaBytes) {
    stored_bytes += d.size();
    stored_.push_back(Stored{time, std::vector<std::uint8_t>(d.begin(), d.end()), true});
  }
}

StreamReport MediaAccumulator::summary() const {
  StreamReport s;
  s.src = src_;
  s.dst = dst_;
  s.packets = packets_;
  s.bytes = bytes_;
  s.rtp_packets = rtp_;
  s.rtcp_packets = rtcp_;
  s.stun_packets = stun_;
  s.dtls_packets = dtls_;
  s.first_time = first_;
  s.last_time = last_;
  s.activity = activity_;
  // The majority class names the flow (rtcp-mux and STUN consent checks share the port with RTP).
  std::uint64_t best = other_;
  s.kind = "other";
  if (rtp_ + rtcp_ >= best && rtp_ > 0) { best = rtp_ + rtcp_; s.kind = "rtp"; }
  else if (rtcp_ > best) { best = rtcp_; s.kind = "rtcp"; }
  if (dtls_ > best) { best = dtls_; s.kind = "dtls"; }
  if (stun_ > best) { best = stun_; s.kind = "stun"; }
  s.evidence = "rfc7983-demux";
  for (const auto& x : ssrcs_) {
    s.ssrcs.push_back(x.ssrc);
    std::uint64_t expected = static_cast<std::uint64_t>(x.max_ext) - x.base_ext + 1;
    s.expected += expected;
    s.lost += expected > x.received ? expected - x.received : 0;
    s.jitter_ms = x.jitter / 8000.0 * 1000.0;
  }
  s.payload_types = pts_;
  double h = 0;
  for (auto c : hist_)
    if (c) {
      double p = static_cast<double>(c) / static_cast<double>(hist_total_);
      h -= p * std::log2(p);
    }
  s.entropy = h;
  return s;
}

void MediaAccumulator::decrypt(const std::vector<const SrtpKeyLine*>& keys, StreamReport& s) {
  // Pick the key: the first that authenticates one of the first packets (a re-key leaves several
  // lines for the same addresses; the newest is tried first).
  const SrtpKeyLine* chosen = nullptr;
  for (const auto* k : keys) {
    auto key = media::SrtpKey::from_bytes(k->suite, k->key_salt);
    if (!key) continue;
    auto sess = media::SrtpSession::create(*key, media::Direction::kInbound);
    if (!sess) continue;
    for (std::size_t i = 0; i < stored_.size() && i < 5; ++i) {
      auto copy = stored_[i].bytes;
      if (sess->unprotect(copy)) { chosen = k; break; }
    }
    if (chosen) break;
  }
  if (!chosen) {
    chosen = keys.front();  // none works: count the failures with the newest
    // The same key bytes under another suite of the same key+salt length (another tag length,
    // RFC 4568 6.2.1): the sides disagree on the suite, not on the key.
    for (auto other : media::kAllSrtpSuites) {
      if (other == chosen->suite || media::srtp_key_salt_length(other) != chosen->key_salt.size()) continue;
      auto key = media::SrtpKey::from_bytes(other, chosen->key_salt);
      if (!key) continue;
      auto sess = media::SrtpSession::create(*key, media::Direction::kInbound);
      if (!sess) continue;
      bool ok = false;
      for (std::size_t i = 0; i < stored_.size() && i < 5 && !ok; ++i) {
        auto copy = stored_[i].bytes;
        ok = sess->unprotect(copy).ok();
      }
      if (ok) {
        s.suite_hint = std::string(media::srtp_suite_name(other));
        break;
      }
    }
  }
  auto key = media::SrtpKey::from_bytes(chosen->suite, chosen->key_salt);
  if (!key) return;
  // A large replay window: a capture may hold reordered packets.
  auto sess = media::SrtpSession::create(*key, media::Direction::kInbound, 32767);
  if (!sess) return;
  for (auto& p : stored_) {
    auto st = sess->unprotect(p.bytes);
    p.ok = st.ok();
  }
  const auto& c = sess->counters();
  s.decrypted = c.unprotected_packets;
  s.auth_failures = c.auth_failures;
  s.replays = c.replays_dropped;
  s.decrypt_errors = c.other_errors;
  decrypted_ = true;
}

void MediaAccumulator::write_audio(const Resolve& resolve, const std::string& path, StreamReport& s) {
  // The audio payload type: the most frequent one that maps to a codec we have.
  std::map<int, std::size_t> count;
  for (const auto& p : stored_)
    if (p.ok && p.bytes.size() >= 2) ++count[p.bytes[1] & 0x7f];
  std::unique_ptr<media::AudioCodec> codec;
  int pt = -1;
  std::size_t best = 0;
  for (auto [t, n] : count) {
    if (n <= best) continue;
    auto [enc, clock] = resolve(t);
    if (enc.empty()) continue;
    auto c = media::make_audio_codec(enc, clock);
    if (!c) continue;
    codec = std::move(*c);
    pt = t;
    best = n;
  }
  if (!codec) return;
  s.codec = std::string(codec->name());
  std::vector<std::int16_t> pcm, frame;
  bool have_ts = false;
  std::uint32_t next_ts = 0;
  for (const auto& p : stored_) {
    if (!p.ok || p.bytes.size() < 2 || (p.bytes[1] & 0x7f) != pt) continue;
    auto v = media::parse_rtp(p.bytes);
    if (!v) continue;
    std::uint32_t ts = v->header.timestamp;
    if (have_ts) {
      auto gap = static_cast<std::int32_t>(ts - next_ts);
      if (gap < 0) continue;  // late or duplicate: dropped, as a jitter buffer would
      if (gap > 0 && gap < static_cast<std::int32_t>(codec->rtp_clock_rate()) * 10)
        pcm.resize(pcm.size() + codec->ticks_to_samples(static_cast<std::uint64_t>(gap)), 0);
    }
    if (!codec->decode(v->payload, frame)) continue;
    if (pcm.size() + frame.size() > media::kMaxWavSamples) break;
    pcm.insert(pcm.end(), frame.begin(), frame.end());
    have_ts = true;
    next_ts = ts + static_cast<std::uint32_t>(codec->samples_to_ticks(frame.size()));
  }
  if (pcm.empty()) return;
  if (media::write_wav(path, pcm, codec->sample_rate())) s.wav = path;
}

namespace {

std::string dir_name(bool to_callee) { return to_callee ? "caller -> callee" : "callee -> caller"; }

// RFC 1918 private, RFC 6598 shared (carrier-grade NAT), RFC 3927 link-local; RFC 4193 unique
// local and link-local IPv6: addresses another network cannot send to.
bool private_address(const std::string& ip) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(ip.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4)
    return a == 10 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
           (a == 100 && b >= 64 && b <= 127) || (a == 169 && b == 254);
  if (ip.find(':') == std::string::npos || ip.size() < 2) return false;
  auto lower = [](char ch) { return static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch); };
  char c0 = lower(ip[0]), c1 = lower(ip[1]);
  if (c0 == 'f' && (c1 == 'c' || c1 == 'd')) return true;                        // fc00::/7
  return ip.size() >= 4 && c0 == 'f' && c1 == 'e' && (lower(ip[2]) >= '8' && lower(ip[2]) <= 'b');  // fe80::/10
}

}  // namespace

void diagnose(Report& r) {
  auto stream = [&](int id) -> const StreamReport& { return r.streams.at(static_cast<std::size_t>(id - 1)); };
  for (auto& c : r.calls) {
    const std::string& cid = c.call_id;
    std::string label = cid.empty() ? "media " + (c.caller_media ? to_string(*c.caller_media) : "") + " <-> " +
                                          (c.callee_media ? to_string(*c.callee_media) : "")
                                    : "call " + cid;
    if (!cid.empty() && c.transport != "tls" && c.transport != "unreadable")
      r.findings.push_back({"sip-in-clear", Severity::kWarning, cid,
                            label + ": SIP over " + c.transport + " in clear (headers, numbers and SDP readable)"});
    const DirectionVerdict* dirs[2] = {&c.caller_to_callee, &c.callee_to_caller};
    // A side that announces a private media address while its SIP comes from a routable one (and
    // the other side's media address is not private too: both could share a LAN) is likely behind
    // NAT without an ALG or SBC fixing the SDP: media sent to that address (it may well be in the
    // capture) never reaches it, one-way audio even when both directions show packets.
    if (!cid.empty() && c.transport != "unreadable")
      for (int i = 0; i < 2; ++i) {
        bool callee_side = i == 0;  // the receiver of dirs[i]
        const auto& media = callee_side ? c.callee_media : c.caller_media;
        const auto& other_media = callee_side ? c.caller_media : c.callee_media;
        const Endpoint& sig = callee_side ? c.callee : c.caller;
        if (!media || !private_address(media->ip) || private_address(sig.ip) || sig.ip.empty() || sig.ip == media->ip)
          continue;
        if (other_media && private_address(other_media->ip)) continue;  // both private: may share a LAN
        std::string who = callee_side ? "callee" : "caller";
        std::string m = dir_name(callee_side) + ": the " + who + "'s SDP announces the private address " +
                        to_string(*media) + " but its SIP comes from " + sig.ip +
                        ": behind NAT, media sent there likely never arrives (no ALG/SBC rewrote the SDP)";
        c.diagnosis.push_back(m);
        r.findings.push_back({"sdp-private-address", Severity::kError, cid, label + ": " + m});
      }
    for (int i = 0; i < 2; ++i) {
      const auto& d = *dirs[i];
      const auto& other = *dirs[1 - i];
      bool to_callee = i == 0;
      if (d.seen && !d.encrypted)
        r.findings.push_back({"rtp-in-clear", Severity::kWarning, cid,
                              label + ": " + dir_name(to_callee) + " audio is plain RTP (anyone on the path can listen)"});
      if (!d.seen && other.seen) {
        // No media from this side. Packets from its SDP address to somewhere unexpected?
        std::string cause = "no packets at all (firewall/NAT, or a wrong address in the SDP c= line)";
        const auto& sender_media = to_callee ? c.caller_media : c.callee_media;
        const auto& receiver_media = to_callee ? c.callee_media : c.caller_media;
        for (const auto& s : r.streams)
          if (sender_media && s.src == *sender_media && (!receiver_media || s.dst != *receiver_media) &&
              (s.kind == "rtp" || s.kind == "srtp"))
            cause = "packets go to " + to_string(s.dst) + ", not to the SDP's " +
                    (receiver_media ? to_string(*receiver_media) : "?");
        c.diagnosis.push_back(dir_name(to_callee) + ": missing: " + cause);
        r.findings.push_back({"one-way-audio", Severity::kError, cid, label + ": " + dir_name(to_callee) + " missing: " + cause});
      }
      if (d.seen && other.seen && d.encrypted != other.encrypted) {
        std::string m = dir_name(to_callee) + (d.encrypted ? " is SRTP" : " is RTP") + ", the other way " +
                        (other.encrypted ? "SRTP" : "RTP") + ": the sides disagree on the media profile";
        if (to_callee) {
          c.diagnosis.push_back(m);
          r.findings.push_back({"rtp-srtp-mismatch", Severity::kError, cid, label + ": " + m});
        }
      }
      std::uint64_t fails = 0, ok = 0;
      std::size_t ssrc_count = 0;
      std::string hint;
      for (int id : d.streams) {
        if (hint.empty()) hint = stream(id).suite_hint;
        fails += stream(id).auth_failures;
        ok += stream(id).decrypted;
        ssrc_count += stream(id).ssrcs.size();
      }
      if (fails > 0) {
        std::string m = dir_name(to_callee) + ": " + std::to_string(fails) + " SRTP authentication failure(s), " +
                        std::to_string(ok) + " decrypted";
        if (ok > 0 && ssrc_count > 1) m += ": the SSRC changed without a re-key (the new source is under an old key)";
        else if (ok == 0 && !hint.empty())
          m += ": suite mismatch: the key authenticates as " + hint + ", not as the suite the key log names";
        else if (ok == 0) m += ": key or suite mismatch (the receiver's \"unprotect failed\")";
        c.diagnosis.push_back(m);
        r.findings.push_back({"srtp-auth-failures", Severity::kError, cid, label + ": " + m});
      }
      if (ssrc_count > 1 && fails == 0)
        c.diagnosis.push_back(dir_name(to_callee) + ": " + std::to_string(ssrc_count) + " SSRCs (source changed)");
    }
  }
}

}  // namespace exphone::diag
