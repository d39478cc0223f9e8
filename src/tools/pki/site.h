// A site PKI in one folder: what `exphone pki init/server/device/list` create and read.
//
//   D/ca/root.crt, D/ca/root.key            the root CA (key 0600)
//   D/ca/intermediate.crt, .key             the issuing CA when `init --intermediate`
//   D/ca/chain.pem                          the trust bundle phones get (tls.ca_files): root
//                                           (+ intermediate), what the PBX's CA list needs too
//   D/servers/HOST.crt, .key, .fullchain.pem   server certificate; fullchain = leaf + intermediate
//   D/devices/ID.crt (+ .key from `pki device`; `pki fleet` keeps keys only in the bundles)
//
// Folders are 0700, keys 0600; nothing that exists is overwritten without Overwrite::kForce.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "tools/pki/inspect.h"
#include "tools/pki/issuer.h"

namespace exphone::pki {

struct SitePaths {
  std::string dir;
  std::string ca_dir() const { return dir + "/ca"; }
  std::string root_cert() const { return dir + "/ca/root.crt"; }
  std::string root_key() const { return dir + "/ca/root.key"; }
  std::string intermediate_cert() const { return dir + "/ca/intermediate.crt"; }
  std::string intermediate_key() const { return dir + "/ca/intermediate.key"; }
  std::string chain() const { return dir + "/ca/chain.pem"; }
  std::string servers_dir() const { return dir + "/servers"; }
  std::string devices_dir() const { return dir + "/devices"; }
};

struct InitOptions {
  std::string dir;
  std::string name;  // root CA common name, e.g. "Plant Root CA"
  bool intermediate = false;
  KeyType key = KeyType::kEcP256;
  long root_days = 7300;          // 20 years: replacing a root on hundreds of phones is a project
  long intermediate_days = 3650;  // 10 years
  Overwrite overwrite = Overwrite::kNever;
};

// Files written, in order.
Result<std::vector<std::string>> init_site(const InitOptions& o);

// The issuing CA of a site, loaded once (fleet signs hundreds of certificates with it).
struct Site {
  SitePaths paths;
  Issued signer;                  // intermediate if present, else root
  CertPtr root;
  std::optional<Issued> intermediate;
  KeyType key = KeyType::kEcP256; // the site's key type: default for its leaves
  std::string chain_pem;          // root (+ intermediate)
  std::string intermediate_pem;   // "" without an intermediate
};
Result<Site> open_site(const std::string& dir);

struct ServerOptions {
  std::vector<std::string> hosts;  // first = primary SIP server address (the CN); all go in the SAN
  std::vector<std::string> ips;    // further IP SAN entries
  std::optional<KeyType> key;      // default: the site's
  long days = 825;
  Overwrite overwrite = Overwrite::kNever;
};
struct IssuedFiles {
  std::string cert, key, fullchain;
  CertInfo info;
};
// RFC 5922 section 7.1: the SIP domain / server address in a DNS (or IP) subjectAltName; the CN
// equals the primary address for old clients that read the CN only.
Result<LeafSpec> server_spec(const ServerOptions& o);
Result<IssuedFiles> issue_server(const Site& site, const ServerOptions& o);

struct DeviceOptions {
  std::string id;                   // MAC address or serial number
  std::optional<long> pen;          // IANA enterprise number for a serial's urn:dev:os URI
  std::optional<KeyType> key;
  long days = 1825;
  bool server_auth = true;          // also serverAuth: the device is the TLS server on P2P calls
  Overwrite overwrite = Overwrite::kNever;
};
// The normalized id and its file name: a MAC becomes "00:1a:2b:3c:4d:5e" (file 001a2b3c4d5e);
// a serial is kept (letters, digits, '.', '_', '-'; at most 64).
struct DeviceId {
  std::string cn, file, urn;
  bool mac = false;
};
Result<DeviceId> parse_device_id(const std::string& id, std::optional<long> pen);
Result<LeafSpec> device_spec(const DeviceOptions& o, KeyType site_key);
Result<IssuedFiles> issue_device(const Site& site, const DeviceOptions& o);

struct ListEntry {
  std::string path;
  CertInfo info;
  long days_left = 0;
  std::string status;  // "ok", "expiring" (within warn_days), "expired", "not-yet-valid"
};
Result<std::vector<ListEntry>> list_site(const std::string& dir, std::time_t now, long warn_days = 30);

// mkdir -p with mode 0700 for the folders it creates.
Status make_dirs(const std::string& path);

}  // namespace exphone::pki
