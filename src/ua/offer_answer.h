// SDP offer/answer for audio (RFC 3264) with SDES-SRTP keying (RFC 4568) under the account's
// SRTP policy:
//   off       — plain RTP/AVP, a=crypto in an offer is ignored (the answer has none);
//   optional  — best-effort SDES inside RTP/AVP (what Asterisk and 3CX expect), RTP if the peer
//               has no usable crypto;
//   mandatory — RTP/SAVP offered; offers without usable crypto are refused with 488; never RTP.
// SDES keys never go into SDP sent over a transport that is not TLS (error
// "sdes-over-insecure-transport") unless the account allows it for a lab.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base64.h"
#include "core/result.h"
#include "sdp/session.h"

namespace exphone::ua {

enum class SrtpPolicy { kOff, kOptional, kMandatory };

// How SRTP keys are agreed (per account, [sip] key_exchange):
//   sdes — a=crypto (RFC 4568) only; DTLS-SRTP offers are refused with 488;
//   dtls — DTLS-SRTP (RFC 5763/5764) only, offered as UDP/TLS/RTP/SAVPF with rtcp-mux and ICE-lite
//          (what WebRTC consoles require); SDES-only offers are refused with 488;
//   auto — offers both (RTP/SAVP or RTP/AVP with a=crypto and a=fingerprint) and takes what the
//          peer answers; answers whichever the peer offers (DTLS when it offers both).
enum class KeyExchange { kSdes, kDtls, kAuto };

// The config file's names: "off" / "optional" / "mandatory", "sdes" / "dtls" / "auto".
std::string_view to_string(SrtpPolicy p);
std::string_view to_string(KeyExchange k);
std::optional<SrtpPolicy> parse_srtp_policy(std::string_view name);
std::optional<KeyExchange> parse_key_exchange(std::string_view name);

struct AudioCodec {
  std::uint8_t payload_type = 0;
  std::string name;        // "PCMU", "PCMA", "G722", "opus", "telephone-event"
  std::uint32_t clock_rate = 8000;
  std::optional<std::uint32_t> channels;
  std::string fmtp;        // e.g. "0-16" for telephone-event
};

struct MediaPolicy {
  SrtpPolicy srtp = SrtpPolicy::kOptional;
  // Offered in this order; the answerer picks the strongest it shares (first in this list).
  // AEAD first (RFC 7714), then AES-CM with the 80-bit tag before the 32-bit one; AES-256-CM
  // (RFC 6188) is what baresip's srtp module offers.
  std::vector<sdp::CryptoSuite> suites = {sdp::CryptoSuite::kAeadAes256Gcm,       sdp::CryptoSuite::kAeadAes128Gcm,
                                          sdp::CryptoSuite::kAes256CmHmacSha1_80, sdp::CryptoSuite::kAesCm128HmacSha1_80,
                                          sdp::CryptoSuite::kAes256CmHmacSha1_32, sdp::CryptoSuite::kAesCm128HmacSha1_32};
  // RFC 3551 static types for G.722 (clock 8000 although sampled at 16 kHz, section 4.5.2),
  // PCMU, PCMA; Opus per RFC 7587 (always opus/48000/2 in SDP); RFC 4733 telephone-event.
  std::vector<AudioCodec> codecs = {{9, "G722", 8000, std::nullopt, ""},
                                    {0, "PCMU", 8000, std::nullopt, ""},
                                    {8, "PCMA", 8000, std::nullopt, ""},
                                    {111, "opus", 48000, 2, "useinbandfec=1"},
                                    {101, "telephone-event", 8000, std::nullopt, "0-16"}};
  bool allow_sdes_over_insecure_transport = false;
  KeyExchange key_exchange = KeyExchange::kAuto;
};

// Our side of the media: where we receive RTP.
struct LocalMedia {
  std::string address;  // IP literal
  std::uint16_t port = 0;
  // DTLS-SRTP: the SHA-256 fingerprint of our DTLS certificate; empty = no DTLS from us.
  Bytes dtls_fingerprint;
  // ICE-lite credentials (RFC 8839 5.4), offered with DTLS; empty = no ICE.
  std::string ice_ufrag, ice_pwd;
};

// The DTLS-SRTP association a negotiation settled (RFC 5763 5, RFC 4145 4.1).
struct DtlsAgreement {
  bool we_are_client = false;       // our a=setup is active
  sdp::Fingerprint remote_fingerprint;
};

// The SRTP keys of one negotiated stream: ours protect what we send, the peer's what we receive.
struct SrtpKeys {
  sdp::CryptoSuite suite = sdp::CryptoSuite::kUnknown;
  Bytes local_key_salt;
  Bytes remote_key_salt;
};

struct NegotiatedAudio {
  AudioCodec codec;                        // first codec both support, in the answerer's order
  std::optional<std::uint8_t> dtmf_pt;     // telephone-event payload type, when both have it
  std::string remote_address;
  std::uint16_t remote_port = 0;
  sdp::Direction direction = sdp::Direction::kSendRecv;  // from our point of view
  std::optional<SrtpKeys> srtp;            // SDES keys; nullopt: plain RTP or DTLS-SRTP
  std::optional<DtlsAgreement> dtls;       // DTLS-SRTP: keys come from the handshake
  bool rtcp_mux = false;                   // both sides agreed (RFC 5761 5.1.1)
  std::string remote_ice_ufrag;            // the peer's ICE username fragment, when it runs full ICE
};

// An offer we made, kept to process the answer.
struct PendingOffer {
  sdp::Session sdp;
  std::vector<std::pair<std::uint32_t, SrtpKeys>> crypto;  // tag -> our key per offered suite
  bool dtls = false;  // a=fingerprint / a=setup:actpass offered
};

// Builds our offer. `signaling_secure`: the SDP will travel over TLS (sips: all the way).
Result<PendingOffer> make_offer(const MediaPolicy& policy, const LocalMedia& local, bool signaling_secure,
                                std::uint64_t session_id);

// Answers a peer's offer. On failure, the error code says why and `status` carries the SIP
// response to send: 488 for no common codec or unusable crypto under "mandatory".
struct AnswerResult {
  sdp::Session sdp;
  NegotiatedAudio audio;
};
Result<AnswerResult> answer_offer(const MediaPolicy& policy, const sdp::Session& offer, const LocalMedia& local,
                                  bool signaling_secure, std::uint64_t session_id, int* status_on_error = nullptr);

// Processes the answer to our offer.
Result<NegotiatedAudio> process_answer(const MediaPolicy& policy, const PendingOffer& offer, const sdp::Session& answer);

}  // namespace exphone::ua
