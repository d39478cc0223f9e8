// In-memory test PKI for the TLS tests: EC P-256 keys, root / intermediate CAs, server and
// client certificates with chosen names and validity, PEM files in a temporary directory.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace exphone::testpki {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

struct Cert {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
  X509* x509() const { return cert.get(); }
  EVP_PKEY* pkey() const { return key.get(); }
};

struct CertSpec {
  std::string cn;                    // empty = no CN
  std::string org = "exphone test";
  std::vector<std::string> dns, ips, uris;  // subjectAltName entries (none = no SAN extension)
  bool ca = false;
  bool client = false;       // extendedKeyUsage clientAuth (else serverAuth for leaves)
  bool key_usage = true;     // false: no keyUsage/extendedKeyUsage (like `openssl req -x509`)
  long not_before = -3600;   // seconds relative to now
  long not_after = 30L * 24 * 3600;
  std::shared_ptr<EVP_PKEY> key;  // the certificate's key; null = a new EC P-256 key
  std::string digest = "SHA256";  // signature digest ("SHA1" for weak-signature tests)
};

std::shared_ptr<EVP_PKEY> new_key();  // EVP_PKEY_Q_keygen EC P-256
std::shared_ptr<EVP_PKEY> new_rsa_key(unsigned bits);

// issuer == nullptr: self-signed.
Cert make_cert(const CertSpec& spec, const Cert* issuer);

// Temporary directory, removed with its files on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes text (or bytes) to name, returns the full path.
  std::string write(const std::string& name, const std::string& data) const;

 private:
  std::string path_;
};

std::string to_pem(const std::vector<const Cert*>& certs);
std::string to_der(const Cert& c);
std::string key_to_pem(const Cert& c, const std::string& passphrase = "");  // PKCS#8, AES-256 if passphrase

}  // namespace exphone::testpki
