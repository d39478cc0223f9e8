// `exphone advise`: what a deployment needs, from two facts the integrator knows — the network
// the phone sits on and the PBX it registers with. The rules are tables (network -> TLS/SRTP
// requirement, PBX -> key exchange and notes), each explained in one line; `audit` checks a
// config against the same network table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exphone::advise {

enum class Network { kCloud, kVpn, kSharedLan, kAirgappedVlan };
enum class Pbx { kAsteriskChanSip, kAsteriskPjsip, k3cx, kAvayaAura, kKamailio, kWebrtc, kGeneric };
enum class Requirement { kMandatory, kRecommended, kOptional };

std::optional<Network> parse_network(std::string_view s);  // "cloud", "vpn", "shared-lan", "airgapped-vlan"
std::optional<Pbx> parse_pbx(std::string_view s);          // "asterisk-chan-sip", ..., "generic"
std::string_view to_string(Network n);
std::string_view to_string(Pbx p);
std::string_view to_string(Requirement r);
std::vector<std::string_view> network_names();
std::vector<std::string_view> pbx_names();

struct NetworkRule {
  Network network;
  Requirement tls_srtp;  // TLS signaling + SRTP media
  const char* why;       // one line
};
const NetworkRule& network_rule(Network n);

struct PbxRule {
  Pbx pbx;
  const char* key_exchange;  // "SDES", "SDES or DTLS-SRTP", "DTLS-SRTP"
  bool sdes_works;           // exphone's key exchange today is SDES (RFC 4568)
  bool sips_uri_ok;          // registrar as sips: (else sip:...;transport=tls)
  bool challenges_invite;    // digest challenge on INVITE: one more round trip before ringing
  const char* min_tls;       // what the PBX accepts at least; exphone never goes below 1.2
  const char* notes;         // one line: where to switch it on at the PBX
};
const PbxRule& pbx_rule(Pbx p);

// Extra time to ring from the round-trip time (RFC 8446 section 2: TLS 1.3 full handshake 1 RTT;
// RFC 5246 section 7.3: TLS 1.2 full handshake 2 RTT; TCP's handshake 1 RTT before either).
// INVITE -> 180 Ringing is one round trip (plus one when the PBX challenges the INVITE); server
// processing, DNS and the callee's own ringing delay are not counted.
struct TimeToRing {
  int rtt_ms = 0;
  bool invite_challenged = false;
  int kept_alive_rtts = 0, cold_tls13_rtts = 0, cold_tls12_rtts = 0;
  int kept_alive_ms = 0, cold_tls13_ms = 0, cold_tls12_ms = 0;
};
TimeToRing time_to_ring(int rtt_ms, bool invite_challenged);

struct Input {
  Network network = Network::kCloud;
  Pbx pbx = Pbx::kGeneric;
  bool emergency = false;
  std::optional<int> rtt_ms;
  // what the config fragment names (placeholders by default)
  std::string domain = "pbx.plant.local";
  std::string user = "1001";
  std::string ca_file = "plant-root-ca.pem";
  std::string client_cert, client_key;
};

struct Line {
  std::string id;    // stable: "network-cloud", "pbx-3cx", "sdes-needs-tls", ...
  std::string text;  // one line
};

struct Advice {
  Requirement tls_srtp = Requirement::kMandatory;
  std::string key_exchange;
  std::string srtp;       // [phone] srtp value advised: "mandatory" | "optional"
  std::string transport;  // "tls"
  std::string registrar;
  std::string min_tls = "1.2";
  int keepalive_interval_s = 30;
  int t1_ms = 0;          // [sip] t1_ms advised; 0 = the default (500 ms) is right for this RTT
  bool supported = true;  // false: exphone cannot yet do what this PBX needs (WebRTC: DTLS-SRTP)
  std::vector<Line> rules;
  std::vector<std::string> checklist;
  TimeToRing ttr;         // in round trips always; ms when rtt_ms was given
};

Advice advise(const Input& in);

// A ready [[account]] / [tls] / [sip] / [phone] fragment for the device config (docs/config.md);
// phone::parse_config accepts it and `exphone audit` finds no errors in it when the named
// certificate files exist.
std::string toml_fragment(const Input& in, const Advice& a);

}  // namespace exphone::advise
