#include "provisioning/provision.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "core/trusted_clock.h"
#include "provisioning/apply.h"
#include "provisioning/bundle.h"
#include "provisioning/fetch.h"

namespace exphone::provisioning {
namespace {

std::string iso(std::time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json iso_or_null(std::time_t t) { return t ? nlohmann::json(iso(t)) : nlohmann::json(nullptr); }

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// The public view (ctl status, --json).
nlohmann::json to_json(const ProvisionState& s) {
  nlohmann::json j;
  j["state"] = s.state;
  j["url"] = s.url;
  j["last_attempt"] = iso_or_null(s.last_attempt);
  j["last_success"] = iso_or_null(s.last_success);
  j["error"] = s.error_code.empty() ? nlohmann::json(nullptr)
                                    : nlohmann::json{{"code", s.error_code}, {"message", s.error_message}};
  j["http_status"] = s.http_status;
  j["generation"] = s.generation;
  j["pending"] = s.pending ? nlohmann::json{{"since", iso(s.pending_since)}} : nlohmann::json(nullptr);
  j["rollback"] = s.rolled_back_at ? nlohmann::json{{"at", iso(s.rolled_back_at)}, {"reason", s.rollback_reason}}
                                   : nlohmann::json(nullptr);
  return j;
}

// Everything, for the state file.
void save(const std::string& config_path, const ProvisionState& s) {
  nlohmann::json j = to_json(s);
  j["etag"] = s.etag;
  j["last_modified"] = s.last_modified;
  j["error_code"] = s.error_code;
  j["error_message"] = s.error_message;
  j["last_attempt_unix"] = static_cast<long long>(s.last_attempt);
  j["last_success_unix"] = static_cast<long long>(s.last_success);
  j["pending_since_unix"] = static_cast<long long>(s.pending_since);
  j["rolled_back_at_unix"] = static_cast<long long>(s.rolled_back_at);
  j["applied_sha256"] = s.applied_sha256;
  j["rejected_sha256"] = s.rejected_sha256;
  j["rejected_etag"] = s.rejected_etag;
  j["rollback_reason"] = s.rollback_reason;
  (void)write_file_atomic(state_path(config_path), j.dump(2) + "\n", 0600);
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
  s.pending_since = static_cast<std::time_t>(num("pending_since_unix"));
  s.pending = j.contains("pending") && j["pending"].is_object();
  s.applied_sha256 = str("applied_sha256");
  s.rejected_sha256 = str("rejected_sha256");
  s.rejected_etag = str("rejected_etag");
  s.rollback_reason = str("rollback_reason");
  s.rolled_back_at = static_cast<std::time_t>(num("rolled_back_at_unix"));
  // A crash between the switch and this file: what C names is the truth.
  if (s.generation != current_generation(config_path)) {
    s.generation = current_generation(config_path);
    s.pending = false;
  }
  return s;
}

std::string state_json(const ProvisionState& s) { return to_json(s).dump(); }

ProvisionState provision_once(const std::string& config_path, const phone::Config& running, std::time_t trusted_now) {
  ProvisionState st = load_state(config_path);
  const auto& p = running.provisioning;
  st.last_attempt = trusted_now ? trusted_now : std::time(nullptr);
  st.http_status = 0;
  auto fail = [&](const Error& e) {
    st.state = "failed";
    st.error_code = e.code;
    st.error_message = e.message;
  };
  auto known_bad = [&] {
    fail(make_error("prov-known-bad", "the server still serves the bundle rolled back at " + iso(st.rolled_back_at) +
                                          " (" + st.rollback_reason + "); waiting for a different one"));
  };
  auto unchanged = [&] {
    st.state = "unchanged";
    st.error_code.clear();
    st.error_message.clear();
    st.last_success = st.last_attempt;
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
    req.verify_time = trusted_now;
    auto resp = fetch_bundle(req);
    if (!resp) {
      Error e = resp.error();
      // A certificate "not yet valid" or "expired" at a clock known to be wrong says so.
      std::time_t sys = std::time(nullptr);
      if (e.code == "prov-tls" && trusted_now == 0 && sys < build_time())
        e.message += " (the device clock is " + format_utc(sys) + ", before this build's date " + format_utc(build_time()) +
                     ": clock-unsynchronized; check [clock] ntp_servers)";
      return fail(e);
    }
    st.http_status = resp->status;
    if (resp->status == 304) {
      if (!st.rejected_etag.empty() && st.etag == st.rejected_etag) return known_bad();
      return unchanged();
    }
    std::string sha = sha256_hex(resp->body);
    if (!st.rejected_sha256.empty() && sha == st.rejected_sha256) {
      st.etag = resp->etag;  // the next request costs a 304
      st.last_modified = resp->last_modified;
      st.rejected_etag = resp->etag;
      return known_bad();
    }
    if (sha == st.applied_sha256 && !st.generation.empty()) {  // same content (a server without validators)
      st.etag = resp->etag;
      st.last_modified = resp->last_modified;
      return unchanged();
    }
    auto bundle = parse_bundle(resp->body);
    if (!bundle) return fail(bundle.error());
    auto plan = plan_apply(config_path);
    if (!plan) return fail(plan.error());
    auto cfg = validate_bundle(*bundle, plan->gen_dir, trusted_now);
    if (!cfg) return fail(cfg.error());
    if (auto s = apply_bundle(*plan, *bundle, !st.pending); !s) return fail(s.error());
    st.state = "applied";
    st.generation = "provisioned/" + plan->gen_name;
    st.etag = resp->etag;
    st.last_modified = resp->last_modified;
    st.applied_sha256 = sha;
    st.pending = true;
    st.pending_since = st.last_attempt;
    st.error_code.clear();
    st.error_message.clear();
    st.last_success = st.last_attempt;
  }();
  save(config_path, st);
  return st;
}

ProvisionState confirm(const std::string& config_path) {
  ProvisionState st = load_state(config_path);
  if (st.pending) {
    st.pending = false;
    save(config_path, st);
  }
  return st;
}

Result<ProvisionState> rollback(const std::string& config_path, const std::string& reason) {
  ProvisionState st = load_state(config_path);
  std::string bad = st.generation;
  if (auto s = restore_last_known_good(config_path); !s) return make_error("prov-rollback", s.error().message);
  st.state = "rolled-back";
  st.rolled_back_at = std::time(nullptr);
  st.rollback_reason = (bad.empty() ? "the new config" : bad) + ": " + reason;
  st.error_code = "prov-rollback";
  st.error_message = st.rollback_reason;
  st.rejected_sha256 = st.applied_sha256;
  st.rejected_etag = st.etag;
  st.applied_sha256.clear();  // unknown for the last-known-good; a re-fetch of it applies again
  st.pending = false;
  st.generation = current_generation(config_path);
  save(config_path, st);
  return st;
}

}  // namespace exphone::provisioning
