#include "provisioning/provision.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "provisioning/apply.h"
#include "provisioning/bundle.h"
#include "provisioning/fetch.h"

namespace exphone::provisioning {
namespace {

std::string iso(std::time_t t) {
  if (t == 0) return "";
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json to_json(const ProvisionState& s) {
  nlohmann::json j;
  j["state"] = s.state;
  j["url"] = s.url;
  j["last_attempt"] = s.last_attempt ? nlohmann::json(iso(s.last_attempt)) : nlohmann::json(nullptr);
  j["last_success"] = s.last_success ? nlohmann::json(iso(s.last_success)) : nlohmann::json(nullptr);
  j["error"] = s.error_code.empty() ? nlohmann::json(nullptr)
                                    : nlohmann::json{{"code", s.error_code}, {"message", s.error_message}};
  j["http_status"] = s.http_status;
  j["generation"] = s.generation;
  return j;
}

}  // namespace

std::string state_path(const std::string& config_path) { return config_path + ".provisioning.json"; }

ProvisionState load_state(const std::string& config_path) {
  ProvisionState s;
  std::ifstream in(state_path(config_path));
  if (!in) return s;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) return s;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  auto num = [&](const char* k) { return j.contains(k) && j[k].is_number_integer() ? j[k].get<long long>() : 0LL; };
  s.state = str("state").empty() ? "never" : str("state");
  s.url = str("url");
  s.etag = str("etag");
  s.last_modified = str("last_modified");
  s.generation = str("generation");
  s.error_code = str("error_code");
  s.error_message = str("error_message");
  s.last_attempt = static_cast<std::time_t>(num("last_attempt_unix"));
  s.last_success = static_cast<std::time_t>(num("last_success_unix"));
  s.http_status = static_cast<long>(num("http_status"));
  return s;
}

std::string state_json(const ProvisionState& s) { return to_json(s).dump(); }

ProvisionState provision_once(const std::string& config_path, const phone::Config& running) {
  ProvisionState st = load_state(config_path);
  const auto& p = running.provisioning;
  st.last_attempt = std::time(nullptr);
  st.http_status = 0;
  auto fail = [&](const Error& e) {
    st.state = "failed";
    st.error_code = e.code;
    st.error_message = e.message;
  };
  [&] {
    if (p.url.empty()) return fail(make_error("prov-not-configured", "no [provisioning] url in the running config"));
    auto url = expand_url(p.url, p);
    if (!url) return fail(url.error());
    if (*url != st.url) st.etag.clear(), st.last_modified.clear();  // validators belong to one URL
    st.url = *url;
    FetchRequest req;
    req.url = *url;
    req.ca_file = p.ca_file;
    req.client_cert = p.client_cert.empty() ? running.transport.tls.client_cert : p.client_cert;
    req.client_key = p.client_key.empty() ? running.transport.tls.client_key : p.client_key;
    if (p.client_key.empty()) req.key_passphrase = running.transport.tls.client_key_passphrase;
    req.etag = st.etag;
    req.last_modified = st.last_modified;
    req.timeout_s = p.timeout_s;
    req.max_bytes = p.max_bytes;
    auto resp = fetch_bundle(req);
    if (!resp) return fail(resp.error());
    st.http_status = resp->status;
    if (resp->status == 304) {
      st.state = "unchanged";
      st.error_code.clear();
      st.error_message.clear();
      st.last_success = st.last_attempt;
      return;
    }
    auto bundle = parse_bundle(resp->body);
    if (!bundle) return fail(bundle.error());
    auto plan = plan_apply(config_path);
    if (!plan) return fail(plan.error());
    auto cfg = validate_bundle(*bundle, plan->gen_dir);
    if (!cfg) return fail(cfg.error());
    if (auto s = apply_bundle(*plan, *bundle); !s) return fail(s.error());
    st.state = "applied";
    st.generation = "provisioned/" + plan->gen_name;
    st.etag = resp->etag;
    st.last_modified = resp->last_modified;
    st.error_code.clear();
    st.error_message.clear();
    st.last_success = st.last_attempt;
  }();
  nlohmann::json j = to_json(st);
  j["etag"] = st.etag;
  j["last_modified"] = st.last_modified;
  j["error_code"] = st.error_code;
  j["error_message"] = st.error_message;
  j["last_attempt_unix"] = static_cast<long long>(st.last_attempt);
  j["last_success_unix"] = static_cast<long long>(st.last_success);
  (void)write_file_atomic(state_path(config_path), j.dump(2) + "\n", 0600);
  return st;
}

}  // namespace exphone::provisioning
