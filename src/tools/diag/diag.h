// `exphone diag`: verdicts from a capture of a call (issue 6). Reads the capture (capture.h),
// reassembles TCP (tcp_stream.h), finds SIP in clear (src/sip) and its SDP (src/sdp), TLS
// handshakes on any port, and classifies each UDP flow by the RFC 7983 first-byte demux:
// STUN 0..3, DTLS 20..63, RTP/RTCP 128..191 (RTCP when the second byte is 192..223, RFC 5761 4).
// An RTP-shaped flow is SRTP when a key log entry says so, when its SDP said RTP/SAVP(F), or
// when its payload looks random (Shannon entropy near 8 bits/byte) -- G.711 audio in clear
// does not. With SRTP keys (keylog.h) each stream is decrypted by libsrtp2 (media::SrtpSession)
// and decoded (media::make_audio_codec) into one WAV per direction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "tools/diag/capture.h"
#include "tools/diag/keylog.h"

namespace exphone::diag {

enum class Severity { kInfo, kWarning, kError, kCritical };
std::string_view to_string(Severity s);

struct Finding {
  std::string id;  // stable: keys-exposed, sip-in-clear, rtp-in-clear, one-way-audio, ...
  Severity severity = Severity::kInfo;
  std::string call_id;  // "" when not tied to a call
  std::string message;
};

// One TLS record seen on a signaling connection (what a ladder shows when the SIP inside is not
// readable): its content type (RFC 8446 5.1: 22 handshake, 23 application data, 21 alert).
struct TlsRecord {
  double time = 0;
  Endpoint src, dst;
  int content_type = 0;
  std::size_t length = 0;
};
inline constexpr std::size_t kMaxTlsRecordsPerFlow = 200;

// One signaling connection or UDP flow pair carrying SIP or TLS.
struct SignalingFlow {
  Endpoint a, b;         // a = the side that spoke first
  std::string transport; // "udp", "tcp", "tls"
  std::string tls_version;  // from the ServerHello (supported_versions for TLS 1.3); "" if unseen
  std::string tls_cipher;   // "0x1302"
  std::uint64_t sip_messages = 0;
  std::vector<TlsRecord> records;  // TLS only, the first kMaxTlsRecordsPerFlow, in capture order
};

// When a stream had packets: runs of packets closer than kActivityGap seconds, so a timeline
// shows a direction that stops or never starts. At most kMaxActivityRuns (the rest merged into
// the last).
inline constexpr double kActivityGap = 0.25;
inline constexpr std::size_t kMaxActivityRuns = 500;
struct ActivityRun {
  double start = 0, end = 0;
  std::uint64_t packets = 0;
};

struct StreamReport {
  int id = 0;
  Endpoint src, dst;
  std::string kind;  // "rtp", "srtp", "dtls", "stun", "rtcp", "other"
  bool encrypted = false;
  std::string evidence;  // why the kind: "srtp-keys", "sdp", "entropy", "g711-plausible", ...
  std::uint64_t packets = 0, bytes = 0;  // every UDP datagram of the flow
  std::uint64_t rtp_packets = 0, rtcp_packets = 0, stun_packets = 0, dtls_packets = 0;
  std::uint64_t expected = 0, lost = 0;  // RFC 3550 A.3, over all SSRCs
  double jitter_ms = 0;                  // RFC 3550 A.8, last SSRC
  double first_time = 0, last_time = 0;
  std::vector<std::uint32_t> ssrcs;      // in order of appearance
  std::vector<int> payload_types;
  double entropy = 0;  // bits per byte of RTP payloads
  std::string call_id;    // "" when not associated
  std::string direction;  // "caller->callee", "callee->caller", "" when unknown
  bool sdp_port_match = false;  // dst is the address:port the receiver's SDP announced
  // --srtp-keys
  bool key_found = false;
  std::uint64_t decrypted = 0, auth_failures = 0, replays = 0, decrypt_errors = 0;
  std::string suite_hint;  // the key authenticates under this other suite (suite mismatch), else ""
  std::vector<ActivityRun> activity;
  std::string codec;  // what the WAV was decoded from
  std::string wav;    // path written, "" when none
};

struct DirectionVerdict {
  std::vector<int> streams;  // StreamReport ids
  std::uint64_t packets = 0;
  bool encrypted = false;
  bool seen = false;
};

struct CallReport {
  std::string call_id;  // "" for media whose signaling was not readable
  std::string transport;  // "udp", "tcp", "tls", "unreadable"
  Endpoint caller, callee;  // signaling endpoints when readable
  std::optional<Endpoint> caller_media, callee_media;  // from the SDP
  std::string caller_proto, callee_proto;  // m= protos
  bool answered = false;
  int final_status = 0;
  std::vector<std::string> ladder;  // "t=0.123 A -> B INVITE", in order
  struct LadderEvent {
    double time = 0;
    Endpoint src, dst;
    std::string label;      // "INVITE", "180 Ringing (INVITE)": from the capture, untrusted text
    std::string transport;  // "udp", "tcp"
  };
  std::vector<LadderEvent> events;  // the same, structured (bounded like ladder)
  std::string from, to;             // the INVITE's From and To header values as captured
  bool signaling_encrypted = false;
  DirectionVerdict caller_to_callee, callee_to_caller;
  bool keys_exposed = false;
  bool padlock_equivalent = false;
  std::vector<std::string> diagnosis;  // one-way-audio causes, plain text
};

struct Options {
  std::optional<std::string> srtp_keys;  // key log file
  std::optional<std::string> tls_keylog; // checked for coverage only (tshark decrypts TLS)
  std::optional<std::string> out_dir;    // WAVs
};

struct Report {
  std::string capture;
  CaptureStats stats;
  std::vector<SignalingFlow> signaling;
  std::vector<StreamReport> streams;
  std::vector<CallReport> calls;
  std::vector<Finding> findings;
  std::uint64_t tls_handshakes = 0, tls_covered_by_keylog = 0;
};

// Errors: those of read_capture, diag-keylog-* (unreadable or malformed key log),
// diag-out-dir (cannot create --out).
Result<Report> analyze(const std::string& capture_path, const Options& options);

}  // namespace exphone::diag
