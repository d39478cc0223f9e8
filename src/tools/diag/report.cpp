#include "tools/diag/report.h"

#include <cstdio>
#include <sstream>

namespace exphone::diag {

namespace {

nlohmann::ordered_json ep(const Endpoint& e) { return to_string(e); }
nlohmann::ordered_json opt_ep(const std::optional<Endpoint>& e) { return e ? ep(*e) : nlohmann::ordered_json(); }

nlohmann::ordered_json dir_json(const DirectionVerdict& d) {
  return {{"seen", d.seen}, {"encrypted", d.seen && d.encrypted}, {"packets", d.packets}, {"streams", d.streams}};
}

const char* yn(bool b) { return b ? "yes" : "no"; }

}  // namespace

nlohmann::ordered_json to_json(const Report& r) {
  nlohmann::ordered_json j;
  j["capture"] = r.capture;
  j["format"] = r.stats.format;
  j["linktype"] = r.stats.linktype;
  j["frames"] = r.stats.frames;
  j["decoded"] = r.stats.decoded;
  j["malformed"] = r.stats.malformed;
  j["fragments_skipped"] = r.stats.skipped_fragments;
  j["truncated"] = r.stats.truncated;
  j["signaling"] = nlohmann::ordered_json::array();
  for (const auto& f : r.signaling)
    j["signaling"].push_back({{"a", ep(f.a)}, {"b", ep(f.b)}, {"transport", f.transport},
                              {"tls_version", f.tls_version.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(f.tls_version)},
                              {"tls_cipher", f.tls_cipher.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(f.tls_cipher)},
                              {"sip_messages", f.sip_messages}});
  j["streams"] = nlohmann::ordered_json::array();
  for (const auto& s : r.streams) {
    nlohmann::ordered_json o{{"id", s.id}, {"src", ep(s.src)}, {"dst", ep(s.dst)}, {"kind", s.kind},
                             {"encrypted", s.encrypted}, {"evidence", s.evidence},
                             {"call_id", s.call_id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.call_id)},
                             {"direction", s.direction.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.direction)},
                             {"sdp_port_match", s.sdp_port_match},
                             {"packets", s.packets}, {"bytes", s.bytes}, {"rtp_packets", s.rtp_packets},
                             {"rtcp_packets", s.rtcp_packets}, {"stun_packets", s.stun_packets},
                             {"dtls_packets", s.dtls_packets}, {"expected", s.expected}, {"lost", s.lost},
                             {"jitter_ms", s.jitter_ms}, {"first_time", s.first_time}, {"last_time", s.last_time},
                             {"ssrcs", nlohmann::ordered_json::array()}, {"payload_types", s.payload_types},
                             {"entropy", s.entropy}};
    for (auto x : s.ssrcs) {
      char b[16];
      std::snprintf(b, sizeof b, "0x%08x", x);
      o["ssrcs"].push_back(b);
    }
    o["srtp"] = {{"key_found", s.key_found}, {"decrypted", s.decrypted}, {"auth_failures", s.auth_failures},
                 {"replays", s.replays}, {"errors", s.decrypt_errors},
                 {"suite_hint", s.suite_hint.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.suite_hint)}};
    o["codec"] = s.codec.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.codec);
    o["wav"] = s.wav.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.wav);
    j["streams"].push_back(std::move(o));
  }
  j["calls"] = nlohmann::ordered_json::array();
  for (const auto& c : r.calls)
    j["calls"].push_back({{"call_id", c.call_id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.call_id)},
                          {"transport", c.transport},
                          {"caller", c.call_id.empty() ? nlohmann::ordered_json() : ep(c.caller)},
                          {"callee", c.call_id.empty() ? nlohmann::ordered_json() : ep(c.callee)},
                          {"from", c.from.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.from)},
                          {"to", c.to.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.to)},
                          {"caller_media", opt_ep(c.caller_media)}, {"callee_media", opt_ep(c.callee_media)},
                          {"answered", c.answered}, {"final_status", c.final_status},
                          {"signaling_encrypted", c.signaling_encrypted},
                          {"media", {{"caller_to_callee", dir_json(c.caller_to_callee)},
                                     {"callee_to_caller", dir_json(c.callee_to_caller)}}},
                          {"keys_exposed", c.keys_exposed}, {"padlock_equivalent", c.padlock_equivalent},
                          {"diagnosis", c.diagnosis}, {"ladder", c.ladder}});
  j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : r.findings)
    j["findings"].push_back({{"id", f.id}, {"severity", std::string(to_string(f.severity))},
                             {"call_id", f.call_id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(f.call_id)},
                             {"message", f.message}});
  return j;
}

std::string to_text(const Report& r) {
  std::ostringstream o;
  o << r.capture << ": " << r.stats.format << ", " << r.stats.frames << " frames, " << r.stats.decoded
    << " UDP/TCP packets" << (r.stats.truncated ? " (truncated)" : "") << "\n";
  for (const auto& f : r.signaling)
    o << "signaling " << to_string(f.a) << " <-> " << to_string(f.b) << " " << f.transport
      << (f.tls_version.empty() ? "" : " " + f.tls_version) << (f.sip_messages ? ", " + std::to_string(f.sip_messages) + " SIP messages" : "")
      << "\n";
  for (const auto& s : r.streams) {
    o << "stream " << s.id << " " << to_string(s.src) << " -> " << to_string(s.dst) << " " << s.kind << " ("
      << s.evidence << ") " << s.packets << " packets, lost " << s.lost << ", jitter " << s.jitter_ms << " ms";
    if (!s.direction.empty()) o << ", " << s.direction;
    if (s.key_found) o << ", decrypted " << s.decrypted << ", auth failures " << s.auth_failures;
    if (!s.wav.empty()) o << ", wav " << s.wav;
    o << "\n";
  }
  for (const auto& c : r.calls) {
    o << "call " << (c.call_id.empty() ? "(signaling not readable)" : c.call_id) << "\n"
      << "  signaling encrypted: " << yn(c.signaling_encrypted) << " (" << c.transport << ")\n"
      << "  media caller->callee encrypted: " << (c.caller_to_callee.seen ? yn(c.caller_to_callee.encrypted) : "no packets") << "\n"
      << "  media callee->caller encrypted: " << (c.callee_to_caller.seen ? yn(c.callee_to_caller.encrypted) : "no packets") << "\n"
      << "  keys exposed: " << yn(c.keys_exposed) << "\n"
      << "  padlock-equivalent: " << yn(c.padlock_equivalent) << "\n";
    for (const auto& d : c.diagnosis) o << "  diagnosis: " << d << "\n";
  }
  for (const auto& f : r.findings) o << to_string(f.severity) << ": " << f.id << ": " << f.message << "\n";
  return o.str();
}

}  // namespace exphone::diag
