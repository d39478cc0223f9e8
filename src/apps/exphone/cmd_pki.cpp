// `exphone pki init|server|device|fleet|list`: a site PKI in one folder (src/tools/pki/site.h
// for the layout), made with libcrypto only. Keys are written 0600 and never overwritten
// without --force.
#include <ctime>
#include <iostream>

#include "apps/exphone/commands.h"
#include "tools/pki/fleet.h"
#include "tools/pki/site.h"

namespace exphone::cli {

namespace {

struct PkiOptions {
  std::string dir;
  bool json = false;
  bool force = false;
  std::string key;  // "" = default (init: ec-p256; leaves: the site's)
  // init
  std::string name;
  bool intermediate = false;
  // server
  std::vector<std::string> hosts, ips;
  // device / fleet
  std::string id;
  long pen = -1;
  bool client_only = false;
  long days = 0;  // 0 = the command's default
  std::string devices, config_template, out;
  long warn_days = 30;
};

nlohmann::ordered_json cert_json(const pki::CertInfo& i) {
  nlohmann::ordered_json j;
  j["subject"] = i.subject;
  j["issuer"] = i.issuer;
  j["serial"] = i.serial_hex;
  j["not_before"] = pki::iso_time(i.not_before);
  j["not_after"] = pki::iso_time(i.not_after);
  j["ca"] = i.is_ca;
  j["key"] = i.key_type;
  j["signature"] = i.signature;
  nlohmann::ordered_json san = nlohmann::ordered_json::array();
  for (const auto& d : i.dns) san.push_back("DNS:" + d);
  for (const auto& d : i.ips) san.push_back("IP:" + d);
  for (const auto& d : i.uris) san.push_back("URI:" + d);
  j["san"] = san;
  nlohmann::ordered_json eku = nlohmann::ordered_json::array();
  if (i.eku_server) eku.push_back("serverAuth");
  if (i.eku_client) eku.push_back("clientAuth");
  j["eku"] = eku;
  return j;
}

Result<std::optional<pki::KeyType>> key_option(const std::string& s) {
  if (s.empty()) return std::optional<pki::KeyType>{};
  auto k = pki::parse_key_type(s);
  if (!k) return make_error("pki-usage", "--key must be ec-p256, rsa2048 or rsa3072");
  return std::optional<pki::KeyType>{*k};
}

pki::Overwrite overwrite(const PkiOptions& o) { return o.force ? pki::Overwrite::kForce : pki::Overwrite::kNever; }

int run_init(const PkiOptions& o) {
  auto key = key_option(o.key);
  if (!key) return report_error(key.error());
  pki::InitOptions io;
  io.dir = o.dir;
  io.name = o.name;
  io.intermediate = o.intermediate;
  io.key = key->value_or(pki::KeyType::kEcP256);
  io.overwrite = overwrite(o);
  if (o.days > 0) io.root_days = o.days;
  auto files = pki::init_site(io);
  if (!files) return report_error(files.error());
  auto site = pki::open_site(o.dir);
  if (!site) return report_error(site.error());
  nlohmann::ordered_json j;
  j["dir"] = o.dir;
  j["key"] = std::string(pki::to_string(io.key));
  j["root"] = cert_json(pki::inspect(site->root.get()));
  j["intermediate"] = site->intermediate ? cert_json(pki::inspect(site->intermediate->cert.get())) : nlohmann::ordered_json();
  j["chain"] = site->paths.chain();
  j["files"] = *files;
  if (o.json) {
    print_json(j);
  } else {
    std::cout << "root CA '" << o.name << "' (" << pki::to_string(io.key) << ") in " << site->paths.root_cert() << "\n";
    if (site->intermediate) std::cout << "issuing CA in " << site->paths.intermediate_cert() << "\n";
    std::cout << "trust bundle for the phones (tls.ca_files) and the PBX: " << site->paths.chain() << "\n"
              << "keys are mode 0600: keep " << site->paths.ca_dir() << " offline when not issuing\n";
  }
  return kExitOk;
}

int print_issued(const PkiOptions& o, const pki::IssuedFiles& f, const char* what) {
  nlohmann::ordered_json j;
  j["cert"] = f.cert;
  j["key"] = f.key;
  if (!f.fullchain.empty()) j["fullchain"] = f.fullchain;
  j["certificate"] = cert_json(f.info);
  if (o.json) {
    print_json(j);
  } else {
    std::cout << what << " certificate '" << f.info.common_name << "' until " << pki::iso_time(f.info.not_after) << "\n  "
              << f.cert << "\n  " << f.key << " (0600)\n";
    if (!f.fullchain.empty()) std::cout << "  " << f.fullchain << " (certificate + intermediate: what the server sends)\n";
    std::cout << "  subjectAltName:";
    for (const auto& s : j["certificate"]["san"]) std::cout << " " << s.get<std::string>();
    std::cout << "\n";
  }
  return kExitOk;
}

int run_server(const PkiOptions& o) {
  auto key = key_option(o.key);
  if (!key) return report_error(key.error());
  auto site = pki::open_site(o.dir);
  if (!site) return report_error(site.error());
  pki::ServerOptions so;
  so.hosts = o.hosts;
  so.ips = o.ips;
  so.key = *key;
  so.overwrite = overwrite(o);
  if (o.days > 0) so.days = o.days;
  auto f = pki::issue_server(*site, so);
  if (!f) return report_error(f.error());
  return print_issued(o, *f, "server");
}

int run_device(const PkiOptions& o) {
  auto key = key_option(o.key);
  if (!key) return report_error(key.error());
  auto site = pki::open_site(o.dir);
  if (!site) return report_error(site.error());
  pki::DeviceOptions d;
  d.id = o.id;
  if (o.pen >= 0) d.pen = o.pen;
  d.key = *key;
  d.server_auth = !o.client_only;
  d.overwrite = overwrite(o);
  if (o.days > 0) d.days = o.days;
  auto f = pki::issue_device(*site, d);
  if (!f) return report_error(f.error());
  return print_issued(o, *f, "device");
}

int run_fleet(const PkiOptions& o) {
  auto key = key_option(o.key);
  if (!key) return report_error(key.error());
  auto csv = read_input(o.devices, 64u << 20);
  if (!csv) return report_error(csv.error());
  auto tpl = read_input(o.config_template, 1u << 20);
  if (!tpl) return report_error(tpl.error());
  pki::FleetOptions fo;
  fo.dir = o.dir;
  fo.devices = std::move(*csv);
  fo.devices_name = o.devices;
  fo.config_template = std::move(*tpl);
  fo.out = o.out;
  if (o.pen >= 0) fo.pen = o.pen;
  fo.key = *key;
  fo.overwrite = overwrite(o);
  if (o.days > 0) fo.days = o.days;
  auto r = pki::issue_fleet(fo);
  if (!r) return report_error(r.error());
  if (o.json) {
    nlohmann::ordered_json j;
    j["devices"] = r->bundles.size();
    j["out"] = o.out;
    j["elapsed_ms"] = static_cast<long>(r->elapsed_ms);
    j["bundles"] = nlohmann::ordered_json::array();
    for (const auto& b : r->bundles)
      j["bundles"].push_back({{"id", b.id}, {"dir", b.dir}, {"serial", b.serial}, {"not_after", pki::iso_time(b.not_after)}});
    print_json(j);
  } else {
    std::cout << r->bundles.size() << " device bundles in " << o.out << " (" << static_cast<long>(r->elapsed_ms)
              << " ms): device.crt, device.key (0600), ca.pem, exphone.toml (0600) each\n";
  }
  return kExitOk;
}

int run_list(const PkiOptions& o) {
  std::time_t now = std::time(nullptr);
  auto entries = pki::list_site(o.dir, now, o.warn_days);
  if (!entries) return report_error(entries.error());
  int expiring = 0, expired = 0;
  for (const auto& e : *entries) {
    expiring += e.status == "expiring";
    expired += e.status == "expired";
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["dir"] = o.dir;
    j["warn_days"] = o.warn_days;
    j["certificates"] = nlohmann::ordered_json::array();
    for (const auto& e : *entries) {
      nlohmann::ordered_json c = cert_json(e.info);
      c["path"] = e.path;
      c["days_left"] = e.days_left;
      c["status"] = e.status;
      j["certificates"].push_back(c);
    }
    j["expiring"] = expiring;
    j["expired"] = expired;
    print_json(j);
  } else {
    for (const auto& e : *entries) {
      const char* flag = e.status == "expired" ? "EXPIRED " : e.status == "expiring" ? "EXPIRES SOON " : e.status == "not-yet-valid" ? "NOT YET VALID " : "";
      std::cout << flag << pki::iso_time(e.info.not_after) << " (" << e.days_left << " days)  " << e.path << "  "
                << e.info.common_name << (e.info.is_ca ? " [CA]" : "") << "\n";
    }
    std::cout << entries->size() << " certificates; " << expiring << " expire within " << o.warn_days << " days, " << expired
              << " expired\n";
  }
  // expired certificates are a failure a monitoring job must see; expiring soon is a warning
  return expired > 0 ? kExitFailure : kExitOk;
}

}  // namespace

void add_pki_command(CLI::App& app, int& exit_code) {
  auto pki = app.add_subcommand("pki", "Site PKI for phones and PBX: root/intermediate CA, server and device certificates, fleet bundles");
  pki->require_subcommand(1);
  auto o = std::make_shared<PkiOptions>();
  auto common = [o](CLI::App* c) {
    c->add_option("--dir", o->dir, "the site PKI folder")->required();
    c->add_flag("--json", o->json, "print one JSON object");
  };
  auto init = pki->add_subcommand("init", "Create the root CA (ECDSA P-256 unless --key), optionally an intermediate");
  common(init);
  init->add_option("--name", o->name, "root CA common name, e.g. \"Plant Root CA\"")->required();
  init->add_flag("--intermediate", o->intermediate, "also create an issuing (intermediate) CA that signs the leaves");
  init->add_option("--key", o->key, "ec-p256 (default), rsa2048 or rsa3072 (legacy PBXs)");
  init->add_option("--days", o->days, "root validity in days (default 7300)");
  init->add_flag("--force", o->force, "replace an existing CA (every phone must then get the new chain)");
  init->callback([o, &exit_code] { exit_code = run_init(*o); });

  auto server = pki->add_subcommand("server", "Server certificate: CN = the first --host, SAN = every --host and --ip");
  common(server);
  server->add_option("--host", o->hosts, "DNS name or IP the phones use for the SIP server (repeatable; first = CN)")->required();
  server->add_option("--ip", o->ips, "further IP addresses for the SAN (repeatable)");
  server->add_option("--key", o->key, "ec-p256, rsa2048, rsa3072 (default: the CA's type)");
  server->add_option("--days", o->days, "validity in days (default 825)");
  server->add_flag("--force", o->force, "replace an existing certificate and key");
  server->callback([o, &exit_code] { exit_code = run_server(*o); });

  auto device = pki->add_subcommand("device", "Client certificate for mutual TLS, unique per device (ID in CN and SAN URI)");
  common(device);
  device->add_option("--id", o->id, "MAC address or serial number")->required();
  device->add_option("--pen", o->pen, "IANA enterprise number, for a serial number's urn:dev:os URI (RFC 9039)");
  device->add_option("--key", o->key, "ec-p256, rsa2048, rsa3072 (default: the CA's type)");
  device->add_option("--days", o->days, "validity in days (default 1825)");
  device->add_flag("--client-only", o->client_only, "extendedKeyUsage clientAuth only (no TLS listener on the phone)");
  device->add_flag("--force", o->force, "re-issue for an id that already has a certificate");
  device->callback([o, &exit_code] { exit_code = run_device(*o); });

  auto fleet = pki->add_subcommand("fleet", "A provisioning bundle per CSV row: device cert+key, CA chain, rendered config");
  common(fleet);
  fleet->add_option("--devices", o->devices, "CSV with a header row; column id (or mac), others usable as {{column}}")->required();
  fleet->add_option("--config-template", o->config_template, "device config template (TOML with {{placeholders}})")->required();
  fleet->add_option("--out", o->out, "output folder: OUT/<id>/")->required();
  fleet->add_option("--pen", o->pen, "IANA enterprise number for serial-number ids (RFC 9039 urn:dev:os)");
  fleet->add_option("--key", o->key, "ec-p256, rsa2048, rsa3072 (default: the CA's type)");
  fleet->add_option("--days", o->days, "validity in days (default 1825)");
  fleet->add_flag("--force", o->force, "re-issue devices that already have certificates/bundles");
  fleet->callback([o, &exit_code] { exit_code = run_fleet(*o); });

  auto list = pki->add_subcommand("list", "Every certificate of the site with its expiry; flags those expiring within 30 days");
  common(list);
  list->add_option("--warn-days", o->warn_days, "warn when fewer days are left (default 30)");
  list->callback([o, &exit_code] { exit_code = run_list(*o); });
}

}  // namespace exphone::cli
