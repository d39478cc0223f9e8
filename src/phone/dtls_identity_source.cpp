#include "phone/dtls_identity_source.h"

namespace exphone::phone {

std::shared_ptr<media::DtlsIdentity> DtlsIdentitySource::get() {
  if (tried_) return identity_;
  tried_ = true;
  auto id = path_.empty() ? media::DtlsIdentity::generate() : media::DtlsIdentity::load_or_create(path_);
  if (id) identity_ = *id;
  else problem_ = id.error().message;
  return identity_;
}

}  // namespace exphone::phone
