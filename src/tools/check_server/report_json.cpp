#include "tools/check_server/report_json.h"

namespace exphone::tools::check_server {

using json = nlohmann::ordered_json;

namespace {

json error_json(const Error& e) { return json{{"code", e.code}, {"message", e.message}}; }

json cert_json(const net::tls::CertificateInfo& c) {
  json key = {{"type", c.key_type}, {"bits", c.key_bits}};
  if (!c.key_group.empty()) key["group"] = c.key_group;
  return json{{"subject", c.subject},
              {"issuer", c.issuer},
              {"serial", c.serial},
              {"not_before", net::tls::format_utc(c.not_before)},
              {"not_after", net::tls::format_utc(c.not_after)},
              {"san", c.san},
              {"key", key},
              {"signature_algorithm", c.signature_algorithm},
              {"signature_digest", c.signature_digest},
              {"sha256", c.sha256_fingerprint},
              {"ca", c.is_ca},
              {"self_signed", c.self_signed}};
}

json optional_bool(const std::optional<bool>& b) { return b ? json(*b) : json(nullptr); }

}  // namespace

json report_json(const CheckReport& r) {
  json j;
  j["uri"] = r.uri;
  j["server_name"] = r.server_name;
  j["address"] = r.address;
  j["transport"] = "tls";
  j["local_clock"] = net::tls::format_utc(r.local_clock);
  j["tls"] = r.tls_version.empty() ? json(nullptr) : json{{"version", r.tls_version}, {"cipher", r.cipher}};
  j["chain"] = json::array();
  for (const auto& c : r.chain) j["chain"].push_back(cert_json(c));
  j["verified"] = r.verified;
  j["verdict"] = r.verdict ? error_json(*r.verdict) : json{{"code", "ok"}, {"message", "certificate verified"}};
  j["client_cert"] = {{"configured", r.client_cert.configured},
                      {"requested", r.client_cert.requested},
                      {"sent", r.client_cert.sent},
                      {"accepted", optional_bool(r.client_cert.accepted)}};
  json legacy = json::object();
  for (const auto& p : r.legacy) legacy[p.version] = optional_bool(p.accepted);
  j["legacy_versions"] = legacy;
  json o{{"sent", r.options.sent}, {"answered", r.options.answered}, {"unverified", r.options.unverified}};
  if (r.options.answered) {
    o["status"] = r.options.status;
    o["reason"] = r.options.reason;
    o["time_ms"] = r.options.time_ms;
    if (!r.options.server.empty()) o["server"] = r.options.server;
  }
  if (r.options.error) o["error"] = error_json(*r.options.error);
  j["options"] = o;
  j["warnings"] = json::array();
  for (const auto& w : r.warnings) j["warnings"].push_back({{"code", w.code}, {"message", w.message}});
  j["ok"] = r.ok();
  if (auto e = r.error()) j["error"] = error_json(*e);
  return j;
}

}  // namespace exphone::tools::check_server
