#include "ua/offer_answer.h"

#include <algorithm>

#include "core/random.h"
#include "core/text.h"

namespace exphone::ua {

using sdp::CryptoSuite;
using sdp::Direction;

std::string_view to_string(SrtpPolicy p) {
  switch (p) {
    case SrtpPolicy::kOff: return "off";
    case SrtpPolicy::kMandatory: return "mandatory";
    case SrtpPolicy::kOptional: break;
  }
  return "optional";
}

std::string_view to_string(KeyExchange k) {
  switch (k) {
    case KeyExchange::kSdes: return "sdes";
    case KeyExchange::kDtls: return "dtls";
    case KeyExchange::kAuto: break;
  }
  return "auto";
}

std::optional<SrtpPolicy> parse_srtp_policy(std::string_view name) {
  for (SrtpPolicy p : {SrtpPolicy::kOff, SrtpPolicy::kOptional, SrtpPolicy::kMandatory})
    if (name == to_string(p)) return p;
  return std::nullopt;
}

std::optional<KeyExchange> parse_key_exchange(std::string_view name) {
  for (KeyExchange k : {KeyExchange::kSdes, KeyExchange::kDtls, KeyExchange::kAuto})
    if (name == to_string(k)) return k;
  return std::nullopt;
}

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

// RFC 8445 5.1.2.1: a host candidate's priority (type preference 126, local preference 65535,
// component 1).
constexpr std::uint32_t kHostPriority = (126u << 24) | (65535u << 8) | 255u;

bool wants_dtls(const MediaPolicy& p, const LocalMedia& local) {
  return p.srtp != SrtpPolicy::kOff && p.key_exchange != KeyExchange::kSdes && !local.dtls_fingerprint.empty();
}

// The a=fingerprint authenticates the DTLS peer only when the SDP is integrity-protected (RFC
// 5763 8: TLS here). Without TLS, DTLS-SRTP still hides the audio from passive listeners but a
// man in the middle can swap fingerprints: good enough for "optional" (better than RTP), not for
// "mandatory", which promises authenticated keys (unless the lab override is set).
bool dtls_allowed(const MediaPolicy& p, bool signaling_secure) {
  return signaling_secure || p.srtp != SrtpPolicy::kMandatory || p.allow_sdes_over_insecure_transport;
}

Error dtls_insecure() {
  return make_error("dtls-over-insecure-transport",
                    "SRTP is mandatory but the DTLS fingerprint would travel without TLS, where anyone on the path "
                    "could replace it (use a sips:/TLS or WSS account)");
}

// What goes with the DTLS attributes on one m= section.
struct DtlsExtras {
  bool rtcp_mux = true;             // RFC 5761 (required by WebRTC, RFC 8829); an answer echoes the offer
  bool ice = false;                 // our ICE-lite host candidate (RFC 8839 5.1, 5.4)
  std::optional<std::string> mid;   // a=mid (RFC 8843) ...
  bool bundle_group = false;        // ... in its own BUNDLE group, so max-bundle peers accept it
};

// DTLS-SRTP attributes (RFC 5763 5, RFC 8842) and the extras above.
void add_dtls(sdp::Session& s, sdp::MediaDescription& m, const LocalMedia& local, sdp::Setup setup,
              const DtlsExtras& x) {
  sdp::Fingerprint f{sdp::HashFunction::kSha256, "sha-256", local.dtls_fingerprint};
  m.attributes.push_back({"fingerprint", sdp::to_string(f)});
  m.attributes.push_back({"setup", std::string(sdp::to_string(setup))});
  if (x.rtcp_mux) m.attributes.push_back({"rtcp-mux", std::nullopt});
  if (x.mid) {
    if (x.bundle_group) s.attributes.push_back({"group", "BUNDLE " + *x.mid});
    m.attributes.push_back({"mid", *x.mid});
  }
  if (x.ice && !local.ice_ufrag.empty()) {
    s.attributes.push_back({"ice-lite", std::nullopt});
    m.attributes.push_back({"ice-ufrag", local.ice_ufrag});
    m.attributes.push_back({"ice-pwd", local.ice_pwd});
    sdp::Candidate c;
    c.foundation = "1";
    c.component = 1;
    c.transport = "UDP";
    c.priority = kHostPriority;
    c.address = local.address;
    c.port = local.port;
    c.type = "host";
    m.attributes.push_back({"candidate", sdp::to_string(c)});
    m.attributes.push_back({"end-of-candidates", std::nullopt});  // RFC 8840: no trickle from us
  }
}

// The peer's ICE credentials, when its section has them and it runs full ICE. Two lite agents
// never check each other (RFC 8445 6.1.1, 2.5): media then simply uses the SDP's addresses.
void take_ice(const sdp::Session& s, const sdp::MediaDescription& m, NegotiatedAudio& out) {
  if (s.ice_lite()) return;
  auto u = m.ice_ufrag(s);
  auto p = m.ice_pwd(s);
  if (u.ok() && *u && p.ok() && *p) out.remote_ice_ufrag = **u;  // a lite agent never signs with their pwd
}

// The peer's a=fingerprint, which must be SHA-256 (the hash our DTLS code checks; WebRTC peers
// and baresip use it).
Result<sdp::Fingerprint> peer_fingerprint(const sdp::Session& s, const sdp::MediaDescription& m) {
  auto fp = m.fingerprint(s);
  if (!fp) return fp.error();
  if (!*fp) return make_error("dtls-no-fingerprint", "DTLS-SRTP without an a=fingerprint (RFC 5763 5)");
  if ((*fp)->hash != sdp::HashFunction::kSha256)
    return make_error("dtls-fingerprint-unsupported-hash",
                      "the peer's a=fingerprint uses " + (*fp)->hash_name + "; only sha-256 is checked");
  return **fp;
}

// The answer's m= section: same profile as offered (RFC 3264 section 6), the chosen codec,
// telephone-event when shared, ptime, our direction.
sdp::MediaDescription answer_media(const MediaPolicy& policy, const NegotiatedAudio& audio, const LocalMedia& local,
                                   const std::string& proto) {
  sdp::MediaDescription a;
  a.media = "audio";
  a.port = local.port;
  a.proto = proto;
  add_codec(a, audio.codec);
  if (audio.dtmf_pt) {
    for (const auto& c : policy.codecs)
      if (text::iequals(c.name, "telephone-event")) {
        AudioCodec te = c;
        te.payload_type = *audio.dtmf_pt;
        add_codec(a, te);
      }
  }
  a.attributes.push_back({"ptime", "20"});
  a.attributes.push_back({std::string(sdp::to_string(audio.direction)), std::nullopt});
  return a;
}

// Answers an offer with DTLS-SRTP (RFC 5763 5, RFC 8842 5.2).
Result<AnswerResult> answer_dtls(const MediaPolicy& policy, const sdp::Session& offer, const sdp::MediaDescription& m,
                                 const sdp::Connection& conn, const LocalMedia& local,
                                 const std::pair<AudioCodec, std::optional<std::uint8_t>>& codecs,
                                 std::uint64_t session_id) {
  auto fp = peer_fingerprint(offer, m);
  if (!fp) return fp.error();
  auto setup = m.setup(offer);
  if (!setup) return setup.error();
  // The offerer's role decides ours: actpass -> we take active (the SHOULD of RFC 5763 5);
  // active -> passive; passive -> active. No a=setup means active (RFC 4145 4.1).
  sdp::Setup theirs = setup->value_or(sdp::Setup::kActive);
  if (theirs == sdp::Setup::kHoldConn) return make_error("dtls-holdconn", "a=setup:holdconn: no DTLS association");
  const bool we_client = theirs != sdp::Setup::kActive;
  AnswerResult out;
  out.audio.codec = codecs.first;
  out.audio.dtmf_pt = codecs.second;
  out.audio.remote_address = conn.address;
  out.audio.remote_port = m.port;
  out.audio.direction = reverse(m.direction(offer));
  out.audio.dtls = DtlsAgreement{we_client, *fp};
  out.audio.rtcp_mux = m.rtcp_mux();
  take_ice(offer, m, out.audio);
  out.sdp = skeleton(local, session_id);
  sdp::MediaDescription a = answer_media(policy, out.audio, local, m.proto);
  DtlsExtras x;
  x.rtcp_mux = out.audio.rtcp_mux;  // only when offered (RFC 5761 5.1.1)
  x.ice = !out.audio.remote_ice_ufrag.empty();
  x.mid = m.mid();
  // a BUNDLE group only if the offer had one (RFC 8843 7.3)
  for (const auto* g : sdp::find_attributes(offer.attributes, "group"))
    x.bundle_group = x.bundle_group || (g->value && g->value->rfind("BUNDLE", 0) == 0);
  add_dtls(out.sdp, a, local, we_client ? sdp::Setup::kActive : sdp::Setup::kPassive, x);
  out.sdp.media().push_back(std::move(a));
  return out;
}

}  // namespace

Result<PendingOffer> make_offer(const MediaPolicy& policy, const LocalMedia& local, bool signaling_secure,
                                std::uint64_t session_id) {
  if (wants_dtls(policy, local) && policy.key_exchange == KeyExchange::kDtls && !dtls_allowed(policy, signaling_secure))
    return dtls_insecure();
  const bool dtls = wants_dtls(policy, local) && dtls_allowed(policy, signaling_secure);
  const bool dtls_only = dtls && policy.key_exchange == KeyExchange::kDtls;
  bool sdes_allowed = (signaling_secure || policy.allow_sdes_over_insecure_transport) && !dtls_only;
  if (policy.srtp != SrtpPolicy::kOff && policy.key_exchange == KeyExchange::kDtls && !dtls)
    return make_error("dtls-unavailable", "key_exchange is dtls but there is no DTLS certificate");
  if (policy.srtp == SrtpPolicy::kMandatory && !sdes_allowed && !dtls)
    return make_error("sdes-over-insecure-transport",
                      "SRTP is mandatory but the SDP would travel without TLS: SDES would hand the key to anyone "
                      "on the wire (use a sips:/TLS account, or set allow_sdes_over_insecure_transport for a lab)");
  PendingOffer out;
  out.sdp = skeleton(local, session_id);
  sdp::MediaDescription m;
  m.media = "audio";
  m.port = local.port;
  m.proto = dtls_only ? "UDP/TLS/RTP/SAVPF" : policy.srtp == SrtpPolicy::kMandatory ? "RTP/SAVP" : "RTP/AVP";
  // The WebRTC profile puts Opus first (RFC 7874 5: browsers must do Opus and G.711; Opus is
  // what they sound best with); the account's order otherwise.
  std::vector<AudioCodec> codecs = policy.codecs;
  if (dtls_only)
    std::stable_partition(codecs.begin(), codecs.end(), [](const AudioCodec& c) { return text::iequals(c.name, "opus"); });
  for (const auto& c : codecs) add_codec(m, c);
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
  if (dtls) {
    // RFC 5763 5: the offerer says actpass and lets the answerer pick its DTLS role. ICE only in
    // the WebRTC profile, where the peer requires it.
    DtlsExtras x;
    x.ice = dtls_only;
    if (dtls_only) x.mid = "0";
    x.bundle_group = dtls_only;
    add_dtls(out.sdp, m, local, sdp::Setup::kActPass, x);
    out.dtls = true;
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
  if (!m->is_rtp()) return refuse(make_error("unsupported-profile", "media profile " + m->proto + " is not supported here"));
  auto codecs = pick_codec(policy, *m);
  if (!codecs) return refuse(codecs.error());
  const sdp::Connection* conn = m->connection(offer);
  if (!conn) return refuse(make_error("sdp-no-connection", "the offer has no c= line"));

  // DTLS-SRTP when the offer is the DTLS profile (RFC 5764 8), or carries a fingerprint and we
  // are dtls-only, or (auto) carries a fingerprint and no SDES key we could use.
  const bool offer_fp = [&] {
    auto fp = m->fingerprint(offer);
    return fp.ok() && fp->has_value();
  }();
  bool dtls_tentative = false;
  bool use_dtls = false;
  if (m->is_dtls_srtp()) {
    if (policy.srtp == SrtpPolicy::kOff)
      return refuse(make_error("srtp-disabled", "the offer requires DTLS-SRTP (" + m->proto + ") and SRTP is off"));
    if (policy.key_exchange == KeyExchange::kSdes)
      return refuse(make_error("dtls-not-enabled", "the offer uses DTLS-SRTP and this account's key_exchange is sdes"));
    use_dtls = true;
  } else if (policy.srtp != SrtpPolicy::kOff && policy.key_exchange == KeyExchange::kDtls) {
    if (!offer_fp)
      return refuse(make_error("dtls-required", "key_exchange is dtls and the offer has no DTLS-SRTP (an SDES-only peer)"));
    use_dtls = true;
  } else if (wants_dtls(policy, local) && offer_fp) {
    use_dtls = true;  // tentatively: SDES wins below when the offer has a usable key
    dtls_tentative = true;
  }
  if (use_dtls && !dtls_allowed(policy, signaling_secure)) {
    if (!dtls_tentative) return refuse(dtls_insecure());
    use_dtls = false;  // auto: fall through to SDES / RTP, which refuse or degrade as before
  }
  if (use_dtls && local.dtls_fingerprint.empty())
    return refuse(make_error("dtls-unavailable", "DTLS-SRTP offered but this phone has no DTLS certificate"));

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
  if (use_dtls && dtls_tentative && chosen && (signaling_secure || policy.allow_sdes_over_insecure_transport))
    use_dtls = false;  // auto, both offered: the SDES key over TLS needs no handshake
  if (use_dtls) {
    auto r = answer_dtls(policy, offer, *m, *conn, local, *codecs, session_id);
    if (!r && status_on_error) *status_on_error = 488;
    return r;
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
  out.audio.remote_address = conn->address;
  out.audio.remote_port = m->port;
  out.audio.direction = reverse(m->direction(offer));

  out.sdp = skeleton(local, session_id);
  sdp::MediaDescription a = answer_media(policy, out.audio, local, m->proto);
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
  take_ice(answer, *m, out);
  out.rtcp_mux = offer.dtls && m->rtcp_mux();
  const auto answer_fp = m->fingerprint(answer);
  if (offer.dtls && (m->is_dtls_srtp() || (m->cryptos().empty() && answer_fp.ok() && answer_fp->has_value()))) {
    auto fp = peer_fingerprint(answer, *m);
    if (!fp) return fp.error();
    auto setup = m->setup(answer);
    if (!setup) return setup.error();
    // RFC 4145 4.1 / RFC 5763 5: the answerer picks active or passive; absent means active.
    sdp::Setup theirs = setup->value_or(sdp::Setup::kActive);
    if (theirs == sdp::Setup::kActPass || theirs == sdp::Setup::kHoldConn)
      return make_error("sdp-bad-setup", "an answer's a=setup must be active or passive (RFC 5763 5)");
    out.dtls = DtlsAgreement{theirs == sdp::Setup::kPassive, *fp};
    return out;
  }
  if (m->is_dtls_srtp()) return make_error("dtls-not-offered", "the answer uses DTLS-SRTP, which we did not offer");
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
