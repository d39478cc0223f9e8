// JSON views of parsed messages for the lint tools. Key material is never printed: an a=crypto
// entry shows its suite and key length, not the key.
#pragma once

#include <nlohmann/json.hpp>

#include "phone/call.h"
#include "phone/paging.h"
#include "sdp/session.h"
#include "sip/message.h"
#include "sip/validate.h"
#include "core/trusted_clock.h"

namespace exphone::cli {

nlohmann::ordered_json to_json(const sip::Message& m, const sip::Verdict& verdict);
nlohmann::ordered_json to_json(const sdp::Session& s);
nlohmann::ordered_json to_json(const Error& e);
nlohmann::ordered_json to_json(const phone::CallReport& r);  // the call report of DESIGN.md
nlohmann::ordered_json to_json(const net::tls::TlsPeerInfo& t);  // "tls" of every report
nlohmann::ordered_json to_json(const phone::PageGroupStatus& g);  // a paging group / page (docs/paging.md)
nlohmann::ordered_json to_json(const TrustedClock& c);  // "clock" of ctl status (docs/config.md [clock])

}  // namespace exphone::cli
