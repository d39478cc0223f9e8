// The phone's DTLS certificate (RFC 5763 section 5), made when a call first needs it rather than
// at start: an SDES-only day never runs the key generation and signing, nor touches the parts of
// libcrypto they use. A configured certificate file is loaded (or created) at start instead, so
// that a bad file is reported at once (Phone::warnings()).
#pragma once

#include <memory>
#include <string>

#include "media/dtls_identity.h"

namespace exphone::phone {

class DtlsIdentitySource {
 public:
  // path "": a fresh identity for this process; else DtlsIdentity::load_or_create(path).
  explicit DtlsIdentitySource(std::string path) : path_(std::move(path)) {}
  // The identity, made by the first call; nullptr when it could not be made (problem() says
  // why; not retried: calls then offer and accept SDES only, as without a certificate).
  std::shared_ptr<media::DtlsIdentity> get();
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  bool tried_ = false;
  std::shared_ptr<media::DtlsIdentity> identity_;
  std::string problem_;
};

}  // namespace exphone::phone
