// Issuing keys and certificates with OpenSSL's libcrypto (no openssl CLI): ECDSA P-256 or RSA
// keys, root and intermediate CAs, and leaf certificates with subjectAltNames (RFC 5280 profile).
// Used by `exphone pki` (site.h, fleet.h) and by `exphone demo` for its throwaway PKI.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::pki {

// ECDSA P-256 is the default (small, fast, every current PBX takes it); RSA for legacy PBXs whose
// TLS stack has no ECDSA (old Asterisk/OpenSSL builds, some SBCs).
enum class KeyType { kEcP256, kRsa2048, kRsa3072 };

// "ec-p256" | "rsa2048" | "rsa3072" (also "ec", "p256", "ecdsa").
std::optional<KeyType> parse_key_type(std::string_view s);
std::string_view to_string(KeyType k);

struct Issued {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
};

struct CaSpec {
  std::string common_name;
  std::string organization = "exphone";
  long days = 3650;
  int path_length = 0;  // basicConstraints pathLenConstraint: 0 = may sign leaves only
  KeyType key = KeyType::kEcP256;
};

struct LeafSpec {
  std::string common_name;
  std::vector<std::string> dns, ips, uris;  // subjectAltName entries
  bool server = true;                       // extendedKeyUsage serverAuth
  bool client = true;                       // extendedKeyUsage clientAuth (a phone is both on P2P calls)
  long days = 30;
  KeyType key = KeyType::kEcP256;
  std::string organization = "exphone";
};

Result<std::shared_ptr<EVP_PKEY>> generate_key(KeyType type);

// A self-signed root (issuer == nullptr) or an intermediate signed by issuer. keyUsage
// keyCertSign+cRLSign, basicConstraints critical CA:TRUE with spec.path_length (RFC 5280 4.2.1.9).
Result<Issued> make_ca(const CaSpec& spec, const Issued* issuer = nullptr);
Result<Issued> make_root_ca(const std::string& common_name, long days = 365);

// A leaf signed by ca. Its notAfter never exceeds the CA's (a chain is only as valid as its
// shortest-lived link). With a prepared key (fleet: keys made in a batch) pass it in `key`.
Result<Issued> make_leaf(const LeafSpec& spec, const Issued& ca);
Result<Issued> make_leaf(const LeafSpec& spec, const Issued& ca, std::shared_ptr<EVP_PKEY> key);

enum class Overwrite { kNever, kForce };

// PEM files: the certificate (0644) and the unencrypted PKCS#8 key (0600). Neither file is
// overwritten unless kForce (then replaced atomically: temp file + rename).
Status write_pem(const Issued& item, const std::string& cert_path, const std::string& key_path,
                 Overwrite mode = Overwrite::kNever);

// PEM of one certificate / one private key as text.
std::string cert_pem(X509* cert);
std::string key_pem(EVP_PKEY* key);

// Writes `data` to `path` with `mode` (e.g. 0600). kNever: fails with pki-exists when the file
// exists; kForce: temp file + rename.
Status write_file(const std::string& path, std::string_view data, unsigned mode, Overwrite overwrite);

}  // namespace exphone::pki
