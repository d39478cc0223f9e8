// Issuing keys and certificates with OpenSSL's libcrypto (no openssl CLI): ECDSA P-256 keys,
// a root CA, and leaf certificates with subjectAltNames. The start of `exphone pki`; today used
// by `exphone demo` for its throwaway PKI.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace exphone::pki {

struct Issued {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
};

struct LeafSpec {
  std::string common_name;
  std::vector<std::string> dns, ips, uris;  // subjectAltName entries
  bool server = true;                       // extendedKeyUsage serverAuth
  bool client = true;                       // extendedKeyUsage clientAuth (a phone is both on P2P calls)
  long days = 30;
};

Result<Issued> make_root_ca(const std::string& common_name, long days = 365);
Result<Issued> make_leaf(const LeafSpec& spec, const Issued& ca);

// PEM files: the certificate (0644) and the unencrypted PKCS#8 key (0600, never overwritten).
Status write_pem(const Issued& item, const std::string& cert_path, const std::string& key_path);

}  // namespace exphone::pki
