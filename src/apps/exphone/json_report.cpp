#include "apps/exphone/json_report.h"

#include <ctime>

#include "core/text.h"
#include "net/tls/tls_inspect.h"

namespace exphone::cli {

using json = nlohmann::ordered_json;

namespace {

std::string str(std::string_view v) { return std::string(v); }

json uri_json(const sip::Uri& u) {
  json j = {{"uri", str(u.raw)}, {"scheme", text::to_lower(u.scheme_text)}};
  if (u.is_sip_or_sips()) {
    if (u.has_user) j["user"] = str(u.user);
    j["host"] = str(u.host);
    if (u.has_port) j["port"] = u.port;
    if (auto t = u.params.get("transport")) j["transport"] = str(*t);
  }
  return j;
}

json name_addr_json(const Result<sip::NameAddr>& r) {
  if (!r) return json{{"error", to_json(r.error())}};
  json j = uri_json(r->uri);
  if (!r->display_name.empty()) j["display_name"] = sip::unquote(r->display_name);
  if (!r->tag().empty()) j["tag"] = str(r->tag());
  return j;
}

}  // namespace

json to_json(const Error& e) {
  json j = {{"code", e.code}, {"message", e.message}};
  if (e.offset != kNoOffset) j["offset"] = e.offset;
  return j;
}

json to_json(const net::tls::TlsPeerInfo& t) {
  json j = {{"version", t.version},           {"cipher", t.cipher},         {"verified", t.verified},
            {"peer_subject", t.peer_subject}, {"peer_names", t.peer_names}, {"resumed", t.resumed}};
  if (t.peer_not_after != 0) {
    j["peer_not_after"] = net::tls::format_utc(t.peer_not_after);
    j["peer_days_left"] = static_cast<long>((t.peer_not_after - std::time(nullptr)) / 86400);
  }
  return j;
}

json to_json(const phone::CallReport& r) {
  json j;
  j["call_id"] = r.call_id;
  j["direction"] = r.direction;
  j["peer"] = r.peer;
  j["state"] = r.state;
  j["answered"] = r.answered;
  j["final_status"] = r.final_status;
  j["ended_by"] = r.ended_by;
  j["held"] = r.held;
  j["emergency"] = r.emergency;
  j["remote_held"] = r.remote_held;
  j["remote_holds"] = r.remote_holds;
  j["time_to_ring_ms"] = r.time_to_ring_ms;
  j["time_to_answer_ms"] = r.time_to_answer_ms;
  j["signaling"]["transport"] = r.transport;
  if (r.tls) j["signaling"]["tls"] = to_json(*r.tls);
  j["media"] = {{"codec", r.codec},
                {"srtp", r.srtp},
                {"key_exchange", r.key_exchange},
                {"suite", r.suite},
                {"packets_sent", r.stats.packets_sent},
                {"packets_received", r.stats.packets_received},
                {"srtp_auth_failures", r.stats.srtp_auth_failures},
                {"srtcp_auth_failures", r.stats.srtcp_auth_failures},
                {"replays_dropped", r.stats.replays_dropped},
                {"heard_tone_ratio", r.heard_tone_ratio},
                {"dtmf_received", r.dtmf_received},
                {"local_rtp", r.local_rtp},
                {"remote_rtp", r.remote_rtp},
                {"recording", r.recording},
                {"early_dropped", r.stats.early_dropped},
                {"malformed", r.stats.malformed},
                {"packets_lost", r.stats.packets_lost},
                {"jitter_ms", r.stats.jitter_ms},
                {"rtcp_sent", r.stats.rtcp_sent},
                {"rtcp_received", r.stats.rtcp_received},
                {"rtcp_malformed", r.stats.rtcp_malformed},
                {"remote_bye", r.stats.remote_bye}};
  const auto& jb = r.stats.jitter_buffer;
  if (r.dtls)
    j["media"]["dtls"] = {{"role", r.dtls->role},
                          {"peer_fingerprint_verified", r.dtls->peer_fingerprint_verified},
                          {"fingerprint_over_tls", r.dtls->fingerprint_over_tls},
                          {"discarded", r.dtls->discarded}};
  if (!r.ice_selected.empty()) j["media"]["ice_selected"] = r.ice_selected;
  j["media"]["jitter_buffer"] = {{"played", jb.played},         {"late", jb.late},
                                 {"lost", jb.lost},             {"underruns", jb.underruns},
                                 {"concealed_frames", jb.concealed_frames}, {"dropped_for_delay", jb.dropped_for_delay},
                                 {"stretched", jb.stretched},   {"resyncs", jb.resyncs}};
  j["secure"] = r.secure();
  if (r.error) j["error"] = to_json(*r.error);
  return j;
}

json to_json(const sip::Message& m, const sip::Verdict& verdict) {
  json j;
  j["kind"] = m.is_request() ? "request" : "response";
  if (m.is_request()) {
    j["method"] = str(m.method());
    j["request_uri"] = str(m.request_uri().raw);
  } else {
    j["status"] = m.status();
    j["reason"] = str(m.reason());
  }
  j["version"] = str(m.version());
  j["call_id"] = str(m.call_id());
  if (auto c = m.cseq()) j["cseq"] = {{"number", c->number}, {"method", str(c->method)}};
  json vias = json::array();
  if (auto vs = m.vias()) {
    for (const auto& v : *vs) {
      json vj = {{"transport", str(v.transport)}, {"host", str(v.host)}, {"branch", str(v.branch())}};
      if (v.has_port) vj["port"] = v.port;
      if (auto r = v.received()) vj["received"] = str(*r);
      if (auto rp = v.rport()) vj["rport"] = *rp;
      vias.push_back(vj);
    }
  }
  j["vias"] = vias;
  if (m.find(sip::HeaderId::kFrom)) j["from"] = name_addr_json(m.from());
  if (m.find(sip::HeaderId::kTo)) j["to"] = name_addr_json(m.to());
  if (auto mf = m.max_forwards()) j["max_forwards"] = *mf;
  if (auto cl = m.content_length()) j["content_length"] = *cl;
  j["body_length"] = m.body().size();
  json headers = json::array();
  for (const auto& h : m.headers())
    headers.push_back({{"name", h.id == sip::HeaderId::kOther ? str(h.name) : str(sip::header_name(h.id))},
                       {"value", str(h.value)}});
  j["headers"] = headers;

  if (!m.body().empty()) {
    auto ct = m.content_type();
    if (ct && ct->is("application", "sdp")) {
      auto sdp = sdp::parse(m.body());
      j["sdp"] = sdp ? to_json(*sdp) : json{{"error", to_json(sdp.error())}};
    }
  }
  j["valid"] = verdict.valid;
  j["response"] = verdict.response;
  if (!verdict.valid) j["problem"] = {{"code", verdict.code}, {"message", verdict.reason}};
  if (!verdict.unsupported.empty()) j["unsupported"] = verdict.unsupported;
  return j;
}

json to_json(const sdp::Session& s) {
  json j;
  j["origin"] = {{"username", s.origin.username},
                 {"session_id", s.origin.session_id},
                 {"session_version", s.origin.session_version},
                 {"address", s.origin.address}};
  j["name"] = s.name;
  if (s.connection) j["connection"] = s.connection->address;
  json media = json::array();
  for (const auto& md : s.media()) {
    json mj = {{"media", md.media}, {"port", md.port}, {"proto", md.proto}, {"formats", md.formats}};
    if (const auto* c = md.connection(s)) mj["connection"] = c->address;
    mj["direction"] = str(sdp::to_string(md.direction(s)));
    json codecs = json::array();
    for (auto pt : md.payload_types()) {
      if (auto r = md.rtpmap(pt)) {
        json cj = {{"pt", pt}, {"encoding", r->encoding}, {"clock_rate", r->clock_rate}};
        if (r->channels) cj["channels"] = *r->channels;
        codecs.push_back(cj);
      }
    }
    mj["codecs"] = codecs;
    json cryptos = json::array();
    for (const auto& c : md.cryptos()) {
      if (!c) {
        cryptos.push_back({{"error", to_json(c.error())}});
        continue;
      }
      json cj = {{"tag", c->tag}, {"suite", c->suite_name}, {"known_suite", c->known_suite()}};
      if (!c->keys.empty()) cj["key_salt_bytes"] = c->keys.front().key_salt.size();
      cryptos.push_back(cj);
    }
    if (!cryptos.empty()) mj["crypto"] = cryptos;
    if (auto fp = md.fingerprint(s); fp && *fp) mj["fingerprint"] = sdp::to_string(**fp);
    if (auto st = md.setup(s); st && *st) mj["setup"] = str(sdp::to_string(**st));
    if (md.rtcp_mux()) mj["rtcp_mux"] = true;
    auto cands = md.candidates();
    if (!cands.empty()) mj["candidates"] = cands.size();
    media.push_back(mj);
  }
  j["media"] = media;
  json errors = json::array();
  for (const auto& e : sdp::attribute_errors(s)) errors.push_back(to_json(e));
  j["attribute_errors"] = errors;
  return j;
}

json to_json(const phone::PageGroupStatus& g) {
  return json{{"group", g.group},
              {"address", g.address},
              {"priority", g.priority},
              {"secure", g.secure},
              {"codec", g.codec},
              {"volume", g.volume},
              {"active", g.active},
              {"playing", g.playing},
              {"pages", g.pages},
              {"packets", g.packets},
              {"duration_ms", g.duration_ms},
              {"interrupted_ms", g.interrupted_ms},
              {"ended_by", g.ended_by},
              {"recording", g.recording},
              {"total_packets", g.total_packets},
              {"auth_failures", g.auth_failures},
              {"replays", g.replays},
              {"malformed", g.malformed}};
}

json to_json(const TrustedClock& c) {
  json j{{"synchronized", c.synchronized()},
         {"source", c.source()},
         {"plausible", c.plausible()},
         {"state", c.synchronized() ? "synchronized" : c.plausible() ? "system" : "clock-unsynchronized"},
         {"ntp_configured", c.ntp_configured()},
         {"offset_ms", nullptr},
         {"last_sync", nullptr},
         {"now", format_utc(std::chrono::system_clock::to_time_t(c.now()))}};
  if (const auto& s = c.last_sync()) {
    j["offset_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(s->offset).count();
    j["delay_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(s->delay).count();
    j["last_sync"] = format_utc(s->at);
  }
  return j;
}

}  // namespace exphone::cli
