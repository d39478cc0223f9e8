#include "tools/advise/advise.h"

#include <algorithm>
#include <array>

#include "tools/pki/fleet.h"  // toml_escape

namespace exphone::advise {

namespace {

constexpr std::array<std::pair<Network, std::string_view>, 4> kNetworks{{
    {Network::kCloud, "cloud"},
    {Network::kVpn, "vpn"},
    {Network::kSharedLan, "shared-lan"},
    {Network::kAirgappedVlan, "airgapped-vlan"},
}};

constexpr std::array<std::pair<Pbx, std::string_view>, 7> kPbxs{{
    {Pbx::kAsteriskChanSip, "asterisk-chan-sip"},
    {Pbx::kAsteriskPjsip, "asterisk-pjsip"},
    {Pbx::k3cx, "3cx"},
    {Pbx::kAvayaAura, "avaya-aura"},
    {Pbx::kKamailio, "kamailio"},
    {Pbx::kWebrtc, "webrtc"},
    {Pbx::kGeneric, "generic"},
}};

// The network table of issue 5.
const std::array<NetworkRule, 4> kNetworkRules{{
    {Network::kCloud, Requirement::kMandatory,
     "cloud PBX over the internet: TLS + SRTP mandatory — credentials and voice cross the WAN"},
    {Network::kVpn, Requirement::kRecommended,
     "multi-site VPN: TLS + SRTP recommended — defence in depth, VPNs get compromised"},
    {Network::kSharedLan, Requirement::kMandatory,
     "on-premise PBX on the shared corporate LAN: TLS + SRTP mandatory — infected office PCs share the wire"},
    {Network::kAirgappedVlan, Requirement::kOptional,
     "dedicated air-gapped OT VLAN: TLS + SRTP optional — physical and VLAN isolation may suffice"},
}};

// The PBX table of issue 5.
const std::array<PbxRule, 7> kPbxRules{{
    {Pbx::kAsteriskChanSip, "SDES", true, false, true, "1.2",
     "Asterisk chan_sip: SDES with encryption=yes on the peer, transport=tls and tlsenable=yes on 5061 "
     "(chan_sip is gone from Asterisk 21: plan the move to PJSIP)"},
    {Pbx::kAsteriskPjsip, "SDES or DTLS-SRTP", true, true, true, "1.2",
     "Asterisk PJSIP: media_encryption=sdes on the endpoint and a TLS transport (5061); DTLS needs careful "
     "port configuration (rtp_start/rtp_end open, ICE) — prefer SDES for desk and intercom phones"},
    {Pbx::k3cx, "SDES", true, false, true, "1.2",
     "3CX: SDES — tick \"Secure SIP\" (SRTP + TLS) on the extension; the phone registers over TLS on 5061"},
    {Pbx::kAvayaAura, "SDES", true, true, true, "1.2",
     "Avaya Aura: SDES (media encryption aes / srtp in the IP codec set), TLS 1.2 or newer only on Session Manager"},
    {Pbx::kKamailio, "SDES end to end (the proxy passes the SDP on)", true, true, false, "1.2",
     "Kamailio: a proxy, keys travel hop by hop inside TLS; the tls module can demand client certificates "
     "(require_certificate = 1) — use the device certificates"},
    {Pbx::kWebrtc, "DTLS-SRTP", false, true, false, "1.2",
     "WebRTC dispatcher: DTLS-SRTP is mandatory (RFC 8827) and SDES offers fail"},
    {Pbx::kGeneric, "SDES", true, true, true, "1.2",
     "generic PBX: SDES-SRTP (RFC 4568) over SIP/TLS on 5061 is what nearly every PBX supports"},
}};

}  // namespace

std::optional<Network> parse_network(std::string_view s) {
  for (auto [n, name] : kNetworks)
    if (name == s) return n;
  return std::nullopt;
}

std::optional<Pbx> parse_pbx(std::string_view s) {
  for (auto [p, name] : kPbxs)
    if (name == s) return p;
  return std::nullopt;
}

std::string_view to_string(Network n) {
  for (auto [k, name] : kNetworks)
    if (k == n) return name;
  return "?";
}

std::string_view to_string(Pbx p) {
  for (auto [k, name] : kPbxs)
    if (k == p) return name;
  return "?";
}

std::string_view to_string(Requirement r) {
  switch (r) {
    case Requirement::kMandatory: return "mandatory";
    case Requirement::kRecommended: return "recommended";
    case Requirement::kOptional: return "optional";
  }
  return "?";
}

std::vector<std::string_view> network_names() {
  std::vector<std::string_view> out;
  for (auto [n, name] : kNetworks) out.push_back(name);
  return out;
}

std::vector<std::string_view> pbx_names() {
  std::vector<std::string_view> out;
  for (auto [p, name] : kPbxs) out.push_back(name);
  return out;
}

const NetworkRule& network_rule(Network n) {
  for (const auto& r : kNetworkRules)
    if (r.network == n) return r;
  return kNetworkRules[0];
}

const PbxRule& pbx_rule(Pbx p) {
  for (const auto& r : kPbxRules)
    if (r.pbx == p) return r;
  return kPbxRules.back();
}

TimeToRing time_to_ring(int rtt_ms, bool invite_challenged) {
  TimeToRing t;
  t.rtt_ms = rtt_ms;
  t.invite_challenged = invite_challenged;
  t.kept_alive_rtts = 1 + (invite_challenged ? 1 : 0);  // INVITE -> 180 (+ 401/407 and the re-INVITE)
  t.cold_tls13_rtts = t.kept_alive_rtts + 1 + 1;       // + TCP SYN/SYN-ACK + TLS 1.3 full handshake
  t.cold_tls12_rtts = t.kept_alive_rtts + 1 + 2;       // + TCP + TLS 1.2 full handshake
  t.kept_alive_ms = t.kept_alive_rtts * rtt_ms;
  t.cold_tls13_ms = t.cold_tls13_rtts * rtt_ms;
  t.cold_tls12_ms = t.cold_tls12_rtts * rtt_ms;
  return t;
}

Advice advise(const Input& in) {
  Advice a;
  const NetworkRule& net = network_rule(in.network);
  const PbxRule& pbx = pbx_rule(in.pbx);
  a.tls_srtp = net.tls_srtp;
  a.key_exchange = pbx.key_exchange;
  a.supported = pbx.sdes_works;
  a.transport = "tls";
  a.min_tls = pbx.min_tls;
  a.registrar = pbx.sips_uri_ok ? "sips:" + in.domain : "sip:" + in.domain + ";transport=tls";
  // mandatory and recommended both get SRTP mandatory: the advice is the secure setup. Only an
  // isolated network may fall back to plain RTP when the far end has no key.
  a.srtp = net.tls_srtp == Requirement::kOptional ? "optional" : "mandatory";
  if (in.emergency) a.keepalive_interval_s = 15;

  auto rule = [&a](std::string id, std::string text) { a.rules.push_back({std::move(id), std::move(text)}); };
  rule("network-" + std::string(to_string(in.network)), net.why);
  rule("pbx-" + std::string(to_string(in.pbx)), pbx.notes);
  rule("key-exchange", "key exchange: " + std::string(pbx.key_exchange));
  rule("sdes-needs-tls",
       "SDES always requires TLS: the SRTP keys travel in the SDP (RFC 4568 section 8.3), so without TLS anyone on "
       "the path can decrypt the audio — transport = \"tls\"");
  if (!pbx.sdes_works)
    rule("dtls-not-available",
         "exphone does not speak DTLS-SRTP yet (issue 7): calls to this PBX fail until it does; the fragment below "
         "is the signaling part only");
  if (a.srtp == "mandatory")
    rule("srtp-mandatory", "[phone] srtp = \"mandatory\": offers RTP/SAVP and refuses calls without keys (488), never plain RTP");
  else
    rule("srtp-optional", "[phone] srtp = \"optional\": encrypts when the far end offers keys, plain RTP otherwise");
  rule("verify-server", "[tls] verify_server = true with the site CA in ca_files: a phone that does not check the "
                        "certificate talks to whoever answers (RFC 5922)");
  rule("min-tls", "[tls] min_version = \"" + a.min_tls + "\": TLS 1.0/1.1 are deprecated (RFC 8996); " +
                      (std::string(pbx.min_tls) == "1.2" ? "this PBX may not offer TLS 1.3 yet" : "the PBX speaks TLS 1.3"));
  if (!pbx.sips_uri_ok)
    rule("sip-uri-transport-tls", "registrar as sip:...;transport=tls — this PBX handles sips: URIs poorly; TLS is "
                                  "still used to the PBX (hop by hop)");
  if (in.emergency) {
    rule("emergency-keepalive", "emergency phone: RFC 5626 keepalive every 15 s finds a dead flow and re-registers "
                                "within seconds, not at the next refresh");
    rule("emergency-warm-connection", "emergency phone: outbound = true keeps the TLS connection warm, so a call "
                                      "costs no TCP/TLS handshake; session tickets make a reconnect cheaper");
    rule("emergency-backup", "emergency phone: configure backup_registrars (a second PBX or SBC): a call must "
                             "not depend on one server");
  }

  a.checklist = {
      "upload the site root CA (and every intermediate) to the phone: tls.ca_files",
      "the PBX's server certificate: CN and subjectAltName equal the address configured as registrar (" + in.domain +
          ") — `exphone pki server --host " + in.domain + "`",
      "the PBX sends its intermediate certificates (fullchain), or the phones have them in ca_files",
      "NTP configured on the phone and the PBX: a wrong clock makes every certificate \"expired\" or \"not yet valid\"",
      "transport switched to TLS on the account (PBX side: the extension's transport / TLS port 5061)",
      "mutual TLS: a device certificate per phone (`exphone pki device` / `pki fleet`) when the site requires it, "
      "and the PBX set to demand it",
      "`exphone check-server sips:" + in.domain + "` from the phone's network before rolling out",
  };
  a.ttr = time_to_ring(in.rtt_ms.value_or(0), pbx.challenges_invite);
  if (in.rtt_ms) {
    const TimeToRing& t = a.ttr;
    rule("time-to-ring", "time to ring at " + std::to_string(*in.rtt_ms) + " ms RTT: kept-alive connection " +
                             std::to_string(t.kept_alive_ms) + " ms, cold TLS 1.3 " + std::to_string(t.cold_tls13_ms) +
                             " ms (+" + std::to_string(t.cold_tls13_ms - t.kept_alive_ms) + "), cold TLS 1.2 " +
                             std::to_string(t.cold_tls12_ms) + " ms (+" + std::to_string(t.cold_tls12_ms - t.kept_alive_ms) +
                             ") — keep the registration flow alive");
    // RFC 3261 section 17.1.1.1: T1 is an estimate of the RTT, 500 ms by default; a larger one is
    // allowed when the RTT is known to be larger. Below it every request over UDP is sent twice
    // (measured at 600 ms RTT: bench/time_to_ring.py). RTT + 25 %, rounded up to 100 ms, at most T2.
    if (*in.rtt_ms > 500) {
      a.t1_ms = std::min(4000, (*in.rtt_ms * 5 / 4 + 99) / 100 * 100);
      rule("t1-rtt", "[sip] t1_ms = " + std::to_string(a.t1_ms) + ": the RTT (" + std::to_string(*in.rtt_ms) +
                         " ms) exceeds the default T1 of 500 ms, which would retransmit every request over UDP "
                         "before its answer can arrive (RFC 3261 section 17.1.1.1)");
    }
  }
  return a;
}

std::string toml_fragment(const Input& in, const Advice& a) {
  using pki::toml_escape;
  auto q = [](const std::string& s) { return "\"" + toml_escape(s) + "\""; };
  std::string o;
  o += "# exphone advise --network " + std::string(to_string(in.network)) + " --pbx " + std::string(to_string(in.pbx)) +
       (in.emergency ? " --emergency" : "") + "\n";
  o += "# TLS + SRTP " + std::string(to_string(a.tls_srtp)) + "; key exchange " + a.key_exchange + "\n";
  if (!a.supported) o += "# WARNING: this PBX needs DTLS-SRTP, which exphone does not speak yet (issue 7)\n";
  o += "\n[[account]]\n";
  o += "user = " + q(in.user) + "\n";
  o += "password = \"CHANGE-ME\"          # the extension's SIP password; keep this file mode 0600\n";
  o += "domain = " + q(in.domain) + "\n";
  o += "registrar = " + q(a.registrar) + "\n";
  o += "transport = \"tls\"               # SDES keys only ever travel inside TLS\n";
  if (in.emergency) o += "# backup_registrars = [\"sips:pbx2.plant.local\"]   # emergency: a second server\n";
  o += "\n[tls]\n";
  o += "ca_files = [" + q(in.ca_file) + "]   # the site root CA (+ intermediates)\n";
  o += "verify_server = true\n";
  o += "min_version = " + q(a.min_tls) + "\n";
  o += "session_tickets = true\n";
  if (!in.client_cert.empty()) {
    o += "client_cert = " + q(in.client_cert) + "   # mutual TLS: this device's certificate\n";
    o += "client_key = " + q(in.client_key.empty() ? in.client_cert : in.client_key) + "\n";
  } else {
    o += "# client_cert = \"device.crt\"     # mutual TLS when the site requires it (exphone pki device)\n";
    o += "# client_key = \"device.key\"\n";
  }
  o += "\n[sip]\n";
  o += "keepalive_interval_s = " + std::to_string(a.keepalive_interval_s) + "\n";
  if (a.t1_ms) o += "t1_ms = " + std::to_string(a.t1_ms) + "   # the RTT exceeds 500 ms (RFC 3261 section 17.1.1.1)\n";
  o += "outbound = true\n";
  o += "\n[phone]\n";
  o += "srtp = " + q(a.srtp) + "\n";
  o += "allow_sdes_over_insecure_transport = false\n";
  return o;
}

}  // namespace exphone::advise
