#include "ua/offer_answer.h"

#include <algorithm>

#include "core/random.h"
#include "core/text.h"

namespace exphone::ua {

using sdp::CryptoSuite;
using sdp::Direction;

namespace {

bool is_ipv6(const std::string& a) { return a.find(':') != std::string::npos; }

sdp::Session skeleton(const LocalMedia& local, std::uint64_t session_id) {
  sdp::Session s;
  s.origin.session_id = session_id;
  s.origin.session_version = session_id;
  s.origin.addr_type = is_ipv6(local.address) ? "IP6" : "IP4";
  s.origin.address = local.address;
  s.name = "-";
  s.connection = sdp::Connection{"IN", s.origin.addr_type, local.address, std::nullopt, std::nullopt};
  s.timings.push_back(sdp::Timing{0, 0, {}});
  return s;
}

void add_codec(sdp::MediaDescription& m, const AudioCodec& c) {
  m.formats.push_back(std::to_string(c.payload_type));
  sdp::Rtpmap r{c.payload_type, c.name, c.clock_rate, c.channels};
  m.attributes.push_back({"rtpmap", sdp::to_string(r)});
  if (!c.fmtp.empty()) m.attributes.push_back({"fmtp", std::to_string(c.payload_type) + " " + c.fmtp});
}

std::string crypto_line(std::uint32_t tag, CryptoSuite suite, const Bytes& key) {
  sdp::Crypto c;
  c.tag = tag;
  c.suite = suite;
  sdp::CryptoKeyParam k;
  k.key_salt = key;
  c.keys.push_back(k);
  return sdp::to_string(c);
}

const AudioCodec* find_codec(const MediaPolicy& p, const sdp::Rtpmap& r) {
  for (const auto& c : p.codecs)
    if (text::iequals(c.name, r.encoding) && c.clock_rate == r.clock_rate) return &c;
  return nullptr;
}

const sdp::MediaDescription* first_audio(const sdp::Session& s) {
  for (const auto& m : s.media())
    if (m.media == "audio") return &m;
  return nullptr;
}

Direction reverse(Direction d) {
  switch (d) {
    case Direction::kSendOnly: return Direction::kRecvOnly;
    case Direction::kRecvOnly: return Direction::kSendOnly;
    default: return d;
  }
}

// Picks codecs from the peer's m= line: the first audio codec we support (the peer's order,
// RFC 3264 section 6.1), and telephone-event when both have it.
Result<std::pair<AudioCodec, std::optional<std::uint8_t>>> pick_codec(const MediaPolicy& policy,
                                                                      const sdp::MediaDescription& m) {
  std::optional<AudioCodec> audio;
  std::optional<std::uint8_t> dtmf;
  for (auto pt : m.payload_types()) {
    auto r = m.rtpmap(pt);
    if (!r) continue;
    const AudioCodec* ours = find_codec(policy, *r);
    if (!ours) continue;
    AudioCodec c = *ours;
    c.payload_type = pt;  // the peer's number for it (dynamic types differ between sides)
    if (text::iequals(c.name, "telephone-event")) {
      if (!dtmf) dtmf = pt;
    } else if (!audio) {
      audio = c;
    }
  }
  if (!audio) return make_error("no-common-codec", "no audio codec in common with the offer");
  return std::pair{*audio, dtmf};
}

Status usable_key(const sdp::Crypto& c) {
  // One key without MKI is what SDES peers send; several keys need MKI handling we do not do.
  if (c.keys.size() != 1) return make_error("sdp-crypto-unsupported", "several keys (MKI) are not supported");
  if (c.keys[0].mki) return make_error("sdp-crypto-unsupported", "MKI is not supported");
  if (!c.session_params.empty()) return make_error("sdp-crypto-unsupported", "SDES session parameters are not supported");
  return Ok{};
}

}  // namespace

Result<PendingOffer> make_offer(const MediaPolicy& policy, const LocalMedia& local, bool signaling_secure,
                                std::uint64_t session_id) {
  bool sdes_allowed = signaling_secure || policy.allow_sdes_over_insecure_transport;
  if (policy.srtp == SrtpPolicy::kMandatory && !sdes_allowed)
    return make_error("sdes-over-insecure-transport",
                      "SRTP is mandatory but the SDP would travel without TLS: SDES would hand the key to anyone "
                      "on the wire (use a sips:/TLS account, or set allow_sdes_over_insecure_transport for a lab)");
  PendingOffer out;
  out.sdp = skeleton(local, session_id);
  sdp::MediaDescription m;
  m.media = "audio";
  m.port = local.port;
  m.proto = policy.srtp == SrtpPolicy::kMandatory ? "RTP/SAVP" : "RTP/AVP";
  for (const auto& c : policy.codecs) add_codec(m, c);
  m.attributes.push_back({"ptime", "20"});
  m.attributes.push_back({"sendrecv", std::nullopt});
  if (policy.srtp != SrtpPolicy::kOff && sdes_allowed) {
    std::uint32_t tag = 1;
    for (CryptoSuite suite : policy.suites) {
      SrtpKeys k;
      k.suite = suite;
      k.local_key_salt = random_bytes(sdp::crypto_key_salt_length(suite));
      m.attributes.push_back({"crypto", crypto_line(tag, suite, k.local_key_salt)});
      out.crypto.emplace_back(tag++, std::move(k));
    }
  }
  out.sdp.media().push_back(std::move(m));
  return out;
}

Result<AnswerResult> answer_offer(const MediaPolicy& policy, const sdp::Session& offer, const LocalMedia& local,
                                  bool signaling_secure, std::uint64_t session_id, int* status_on_error) {
  auto refuse = [&](Error e) -> Result<AnswerResult> {
    if (status_on_error) *status_on_error = 488;  // Not Acceptable Here (RFC 3261 section 21.4.26)
    return e;
  };
  const sdp::MediaDescription* m = first_audio(offer);
  if (!m || m->rejected()) return refuse(make_error("no-audio", "the offer has no audio stream"));
  if (!m->is_rtp() || m->is_dtls_srtp())
    return refuse(make_error("unsupported-profile", "media profile " + m->proto + " is not supported here"));
  auto codecs = pick_codec(policy, *m);
  if (!codecs) return refuse(codecs.error());

  bool sdes_allowed = signaling_secure || policy.allow_sdes_over_insecure_transport;
  bool peer_requires_srtp = m->is_srtp();
  // The strongest suite we share, in our preference order, among well-formed usable lines.
  std::optional<sdp::Crypto> chosen;
  std::optional<Error> crypto_problem;
  auto cryptos = m->cryptos();
  for (CryptoSuite want : policy.suites) {
    for (const auto& c : cryptos) {
      if (!c) {
        if (!crypto_problem) crypto_problem = c.error();
        continue;
      }
      if (c->suite != want) continue;
      if (Status u = usable_key(*c); !u) {
        if (!crypto_problem) crypto_problem = u.error();
        continue;
      }
      chosen = *c;
      break;
    }
    if (chosen) break;
  }
  bool use_srtp = policy.srtp != SrtpPolicy::kOff && chosen.has_value();
  if (use_srtp && !sdes_allowed) {
    if (policy.srtp == SrtpPolicy::kMandatory || peer_requires_srtp)
      return refuse(make_error("sdes-over-insecure-transport",
                               "the SDP answer would carry an SRTP key without TLS; refusing (set "
                               "allow_sdes_over_insecure_transport only in a lab)"));
    use_srtp = false;  // optional: plain RTP rather than a key in clear
  }
  if (!use_srtp && (policy.srtp == SrtpPolicy::kMandatory || peer_requires_srtp)) {
    if (policy.srtp == SrtpPolicy::kOff)
      return refuse(make_error("srtp-disabled", "the offer requires SRTP (" + m->proto + ") and SRTP is off"));
    return refuse(crypto_problem ? *crypto_problem
                                 : make_error("srtp-no-usable-crypto", "SRTP is mandatory and the offer has no usable a=crypto"));
  }

  AnswerResult out;
  out.audio.codec = codecs->first;
  out.audio.dtmf_pt = codecs->second;
  const sdp::Connection* conn = m->connection(offer);
  if (!conn) return refuse(make_error("sdp-no-connection", "the offer has no c= line"));
  out.audio.remote_address = conn->address;
  out.audio.remote_port = m->port;
  out.audio.direction = reverse(m->direction(offer));

  out.sdp = skeleton(local, session_id);
  sdp::MediaDescription a;
  a.media = "audio";
  a.port = local.port;
  a.proto = m->proto;  // same profile as offered (RFC 3264 section 6)
  add_codec(a, out.audio.codec);
  if (out.audio.dtmf_pt) {
    for (const auto& c : policy.codecs)
      if (text::iequals(c.name, "telephone-event")) {
        AudioCodec te = c;
        te.payload_type = *out.audio.dtmf_pt;
        add_codec(a, te);
      }
  }
  a.attributes.push_back({"ptime", "20"});
  a.attributes.push_back({std::string(sdp::to_string(out.audio.direction)), std::nullopt});
  if (use_srtp) {
    SrtpKeys k;
    k.suite = chosen->suite;
    k.remote_key_salt = chosen->keys[0].key_salt;
    k.local_key_salt = random_bytes(sdp::crypto_key_salt_length(k.suite));
    a.attributes.push_back({"crypto", crypto_line(chosen->tag, k.suite, k.local_key_salt)});
    out.audio.srtp = std::move(k);
  }
  out.sdp.media().push_back(std::move(a));
  return out;
}

Result<NegotiatedAudio> process_answer(const MediaPolicy& policy, const PendingOffer& offer, const sdp::Session& answer) {
  const sdp::MediaDescription* m = first_audio(answer);
  if (!m || m->rejected()) return make_error("media-rejected", "the answer rejected the audio stream");
  auto codecs = pick_codec(policy, *m);
  if (!codecs) return codecs.error();
  NegotiatedAudio out;
  out.codec = codecs->first;
  out.dtmf_pt = codecs->second;
  const sdp::Connection* conn = m->connection(answer);
  if (!conn) return make_error("sdp-no-connection", "the answer has no c= line");
  out.remote_address = conn->address;
  out.remote_port = m->port;
  out.direction = reverse(m->direction(answer));
  auto cryptos = m->cryptos();
  if (cryptos.size() > 1) return make_error("sdp-crypto-bad-answer", "an answer carries exactly one a=crypto (RFC 4568 section 7.1.2)");
  if (cryptos.size() == 1) {
    if (!cryptos[0]) return cryptos[0].error();
    const sdp::Crypto& c = *cryptos[0];
    auto it = std::find_if(offer.crypto.begin(), offer.crypto.end(), [&](const auto& o) { return o.first == c.tag; });
    if (it == offer.crypto.end() || it->second.suite != c.suite)
      return make_error("sdp-crypto-bad-answer", "the answer's a=crypto does not match an offered tag and suite");
    if (Status u = usable_key(c); !u) return u.error();
    SrtpKeys k = it->second;
    k.remote_key_salt = c.keys[0].key_salt;
    out.srtp = std::move(k);
  }
  if (!out.srtp && policy.srtp == SrtpPolicy::kMandatory)
    return make_error("srtp-required", "SRTP is mandatory and the answer has no usable a=crypto: never falling back to RTP");
  if (out.srtp && !m->is_srtp() && policy.srtp == SrtpPolicy::kMandatory)
    return make_error("srtp-required", "the answer downgraded the profile to " + m->proto);
  return out;
}

}  // namespace exphone::ua
