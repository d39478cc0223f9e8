// The device configuration: one TOML file (every key documented in docs/config.md).
// Unknown keys and wrong types are errors with line numbers; a config either loads whole or
// not at all. Relative file paths are resolved against the config file's folder.
#pragma once

#include "phone/hotline.h"
#include "phone/paging_config.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock/sntp_config.h"
#include "core/result.h"
#include "net/transport_layer.h"
#include "txn/timers.h"
#include "ua/offer_answer.h"
#include "ua/registration.h"

namespace exphone::phone {

// [provisioning] (docs/provisioning.md): where the device fetches its config bundle over HTTPS.
struct ProvisioningSettings {
  std::string url;          // template with {mac}, {serial}, {model}; "" = provisioning off
  std::string ca_file;      // CA that signed the provisioning server's certificate (required)
  std::string client_cert;  // device certificate for mTLS; "" = [tls] client_cert
  std::string client_key;   // its key; "" = [tls] client_key
  std::string mac, serial, model;
  int interval_s = 3600;    // poll period in exphone run; 0 = only at start-up
  int rollback_after_s = 300;  // a new config must register within this long, else C.lkg; 0 = never
  int timeout_s = 30;       // whole transfer
  long max_bytes = 1L << 20;  // largest bundle accepted
};

// [web]: the HTTPS admin page and /metrics (docs/config.md [web], src/web). Off unless listen is set.
struct WebConfig {
  std::string listen;              // "ip:port"; empty = no web server
  std::string password_hash;       // `exphone web hash-password` output; empty = nobody can log in
  std::string metrics_token_file;  // bearer token for /metrics; empty = /metrics disabled
  std::string cert;                // server certificate + key (PEM); empty = [tls] client_cert/key, else generated
  std::string key;
  int session_timeout_s = 900;     // idle session expiry
  int max_connections = 32;
  std::string http_redirect_listen;  // "ip:port" of a plain-HTTP listener that only redirects to HTTPS
};

// [[account]] srtp / key_exchange: where one account's media policy differs from [phone]'s
// (a plant PBX reached over TLS with SRTP mandatory, a lab trunk with SRTP off, a WebRTC
// gateway with DTLS). Unset = the [phone] value.
struct AccountMedia {
  std::optional<ua::SrtpPolicy> srtp;
  std::optional<ua::KeyExchange> key_exchange;
};

struct Config {
  std::vector<ua::AccountSettings> accounts;
  std::vector<AccountMedia> account_media;  // one per account, in the same order
  net::TransportConfig transport;  // includes [tls]
  txn::TimerConfig timers;
  std::vector<std::string> dns_servers;  // "ip:port"; empty = the system resolver
  std::string tcp_listen;                // "ip:port" for inbound SIP over TCP; empty = none
  std::string tls_listen;                // "ip:port" for inbound SIP over TLS; empty = none
  bool require_client_cert = false;      // the TLS listener demands a client certificate (mTLS)
  // [phone]
  std::string phone_user = "exphone";    // user part of our address on peer-to-peer calls
  ua::MediaPolicy media;                 // srtp policy, key_exchange, allow_sdes_over_insecure_transport
  // DTLS-SRTP certificate of the device (key + certificate, PEM, 0600), created on first use and
  // kept; "" = a fresh one per start (the fingerprint then changes at every restart).
  std::string dtls_certificate;
  bool auto_answer = false;              // intercom mode: answer calls at once (see below)
  // Who is auto-answered: the caller must be allowlisted (address in allow_peers, or From user /
  // user@host in auto_answer_from) AND have arrived authenticated (the registrar's TLS flow, or a
  // verified mTLS client) — a forged INVITE cannot open the microphone. Everyone else rings.
  std::vector<std::string> auto_answer_from;
  bool auto_answer_unauthenticated = false;  // lab only: skip the "authenticated" half
  std::vector<std::string> allow_peers;  // addresses allowed to call (besides verified mTLS peers)
  // RFC 5626 outbound: [sip] outbound, and the device's instance id ([phone] instance_id, else
  // derived from the machine id by load_config); every account's REGISTER carries it.
  bool outbound = true;
  std::string instance_id;         // "urn:uuid:..."; "" when outbound is off or not yet derived
  std::string instance_id_source;  // "config", "machine-id" or "random" (not stable: a warning)
  std::string control_socket;            // `exphone ctl` socket; empty = the default path
  std::string announcement;              // WAV played to answered callers instead of the test tone
  std::string record_dir;                // each answered call's received audio goes to DIR/<call>.wav
  std::vector<std::string> codecs;       // preference order by SDP name; empty = the built-in list
  std::string audio_device;              // ALSA device for speaker + microphone; "" = headless
  std::string srtp_keylog_file;          // [diagnostics]: SRTP keys per stream (docs/diagnostics.md)
  EmergencyConfig emergency;             // [emergency]: the hotline
  PagingConfig paging;                   // [paging], [[paging.group]]: multicast pages
  clock::SntpConfig clock;               // [clock]: NTP servers (empty = trust the system clock)
  ProvisioningSettings provisioning;     // [provisioning]: HTTPS config bundles
  bool echo = false;                     // answered calls hear themselves (line test)
  int media_timeout_s = 30;              // [phone]: a call that hears nothing for this long is hung up (0 = never)
  bool answer_beep = false;              // beep on the speaker when a call is answered
  WebConfig web;                         // [web]
  std::string source;              // file path (for messages)

  // The media policy of calls through accounts[i] ([phone]'s with the account's overrides);
  // media_for(accounts.size()) or beyond: peer-to-peer calls, [phone]'s.
  ua::MediaPolicy media_for(std::size_t account) const;
  // Does any call (through an account or peer to peer) use DTLS-SRTP under its policy?
  bool uses_dtls() const;
};

// Error code "config" with "FILE:LINE: ..." messages.
Result<Config> load_config(const std::string& path);
Result<Config> parse_config(std::string_view text, const std::string& base_dir, const std::string& source_name);

// When outbound is on and no instance_id is configured: derive it from the machine id in
// machine_id_file (machine-id(5); ua::instance_id_from_machine_id), else a random one. Then hand
// it to every account. load_config calls it with /etc/machine-id.
void resolve_instance_id(Config& c, const std::string& machine_id_file);

}  // namespace exphone::phone
