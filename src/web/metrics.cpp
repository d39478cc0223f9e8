#include "web/metrics.h"

namespace exphone::web {

using json = nlohmann::ordered_json;

namespace {

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>()
         : it != j.end() && it->is_number_integer() && it->get<std::int64_t>() > 0 ? static_cast<std::uint64_t>(it->get<std::int64_t>())
                                                                                      : 0;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void CallCounters::add(const json& r) {
  ++calls;
  if (r.value("secure", false)) ++secure_calls;
  if (auto m = r.find("media"); m != r.end() && m->is_object()) {
    srtp_auth_failures += u64(*m, "srtp_auth_failures") + u64(*m, "srtcp_auth_failures");
    replays_dropped += u64(*m, "replays_dropped");
  }
}

std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string render_metrics(const MetricsInput& in) {
  std::string out;
  const json empty = json::array();
  const json& accounts = in.status.contains("accounts") && in.status["accounts"].is_array() ? in.status["accounts"] : empty;
  const json& calls = in.status.contains("calls") && in.status["calls"].is_array() ? in.status["calls"] : empty;

  head(out, "exphone_registration_up", "gauge", "1 when the account is registered");
  for (const auto& a : accounts) {
    std::string tls;
    if (auto t = a.find("tls"); t != a.end() && t->is_object()) tls = str(*t, "version");
    out += "exphone_registration_up{account=\"" + label_value(str(a, "name")) + "\",transport=\"" +
           label_value(str(a, "transport")) + "\",tls_version=\"" + label_value(tls) + "\"} " +
           (a.value("registered", false) ? "1" : "0") + "\n";
  }
  head(out, "exphone_registration_failovers_total", "counter", "registrar failovers per account");
  for (const auto& a : accounts) {
    std::uint64_t f = 0;
    if (auto fo = a.find("failover"); fo != a.end() && fo->is_object()) f = u64(*fo, "failovers");
    out += "exphone_registration_failovers_total{account=\"" + label_value(str(a, "name")) + "\"} " + std::to_string(f) + "\n";
  }

  std::uint64_t active = 0, active_secure = 0, auth_fail = 0, replays = 0;
  for (const auto& c : calls) {
    ++active;
    if (c.value("secure", false)) ++active_secure;
    if (auto m = c.find("media"); m != c.end() && m->is_object()) {
      auth_fail += u64(*m, "srtp_auth_failures") + u64(*m, "srtcp_auth_failures");
      replays += u64(*m, "replays_dropped");
    }
  }
  head(out, "exphone_calls_active", "gauge", "calls in progress");
  out += "exphone_calls_active " + std::to_string(active) + "\n";
  head(out, "exphone_secure_calls_active", "gauge", "calls in progress with the padlock (TLS verified + SRTP)");
  out += "exphone_secure_calls_active " + std::to_string(active_secure) + "\n";
  head(out, "exphone_calls_total", "counter", "calls ended since start");
  out += "exphone_calls_total " + std::to_string(in.ended.calls) + "\n";
  head(out, "exphone_secure_calls_total", "counter", "calls ended since start that were secure");
  out += "exphone_secure_calls_total " + std::to_string(in.ended.secure_calls) + "\n";
  head(out, "exphone_srtp_auth_failures_total", "counter", "SRTP and SRTCP packets that failed authentication (ended and active calls)");
  out += "exphone_srtp_auth_failures_total " + std::to_string(in.ended.srtp_auth_failures + auth_fail) + "\n";
  head(out, "exphone_srtp_replays_total", "counter", "SRTP replays dropped (ended and active calls)");
  out += "exphone_srtp_replays_total " + std::to_string(in.ended.replays_dropped + replays) + "\n";

  if (in.device_cert_days || in.web_cert_days || !in.ca_cert_days.empty()) {
    head(out, "exphone_certificate_expiry_days", "gauge", "days until the certificate expires");
    if (in.device_cert_days)
      out += "exphone_certificate_expiry_days{certificate=\"device\"} " + std::to_string(*in.device_cert_days) + "\n";
    if (in.web_cert_days)
      out += "exphone_certificate_expiry_days{certificate=\"web\"} " + std::to_string(*in.web_cert_days) + "\n";
    for (std::size_t i = 0; i < in.ca_cert_days.size(); ++i)
      out += "exphone_certificate_expiry_days{certificate=\"ca\",file=\"" + label_value(in.ca_cert_days[i].first) + "\",index=\"" +
             std::to_string(i) + "\"} " + std::to_string(in.ca_cert_days[i].second) + "\n";
  }
  if (in.audit_errors && in.audit_warnings) {
    head(out, "exphone_audit_findings", "gauge", "findings of exphone audit on the running config");
    out += "exphone_audit_findings{severity=\"error\"} " + std::to_string(*in.audit_errors) + "\n";
    out += "exphone_audit_findings{severity=\"warning\"} " + std::to_string(*in.audit_warnings) + "\n";
  }
  // The clock the certificate checks trust ([clock], docs/config.md): a fleet alarm for phones
  // that booted without NTP and will reject every certificate.
  if (auto c = in.status.find("clock"); c != in.status.end() && c->is_object() && c->value("ntp_configured", false)) {
    head(out, "exphone_clock_synchronized", "gauge", "1 when NTP answered and certificate checks use its time");
    out += "exphone_clock_synchronized " + std::string(c->value("synchronized", false) ? "1" : "0") + "\n";
    head(out, "exphone_clock_plausible", "gauge", "0 when the clock is before the build date and NTP never answered (clock-unsynchronized)");
    out += "exphone_clock_plausible " + std::string(c->value("plausible", false) ? "1" : "0") + "\n";
  }
  // Provisioning (docs/provisioning.md): the last round's outcome, and a config on trial.
  if (auto p = in.status.find("provisioning"); p != in.status.end() && p->is_object()) {
    std::string state = str(*p, "state");
    head(out, "exphone_provisioning_ok", "gauge", "1 when the last provisioning round applied or found nothing new");
    out += "exphone_provisioning_ok{state=\"" + label_value(state) + "\"} " +
           (state == "applied" || state == "unchanged" ? "1" : "0") + "\n";
    head(out, "exphone_provisioning_pending", "gauge", "1 while a newly applied config has not registered yet");
    out += "exphone_provisioning_pending " + std::string(p->contains("pending") && (*p)["pending"].is_object() ? "1" : "0") + "\n";
  }
  if (auto w = in.status.find("warnings"); w != in.status.end() && w->is_array()) {
    head(out, "exphone_warnings", "gauge", "configuration warnings of the running phone");
    out += "exphone_warnings " + std::to_string(w->size()) + "\n";
  }
  return out;
}

}  // namespace exphone::web
