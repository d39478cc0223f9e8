// Semantic checks on a parsed message: what RFC 3261 wants a UAS to answer when a request
// parses but must be refused (sections 8.2, 16.3, 18.3), or whether a response must be dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sip/message.h"

namespace exphone::sip {

struct ValidationPolicy {
  // Methods this UAS implements; recognized-but-unsupported get 405, unknown ones 501.
  std::vector<std::string> supported_methods = {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "UPDATE", "NOTIFY"};
  // Option-tags we support (Require with anything else -> 420).
  std::vector<std::string> supported_extensions = {"replaces", "outbound", "path", "gruu", "100rel", "timer"};
  // Body types we understand (others -> 415). Compared case-insensitively as "type/subtype".
  std::vector<std::string> accepted_content_types = {"application/sdp", "application/dtmf-relay",
                                                     "application/dtmf", "text/plain",
                                                     "message/sipfrag", "multipart/mixed"};
  // Request-URI schemes we serve (others -> 416).
  bool accept_tel_request_uri = false;
};

struct Verdict {
  bool valid = true;
  int response = 0;            // status a UAS would answer; 0 when valid, or for responses/ACK
  std::string reason;          // why (human)
  std::string code;            // stable machine code, e.g. "sip-cseq-method-mismatch"
  std::vector<std::string> unsupported;  // for 420: the option-tags to list in Unsupported
};

Verdict validate(const Message& m, const ValidationPolicy& policy = {});

// RFC 3261 methods and the extension methods in wide use (RFC 3262, 3265, 3311, 3428, 3515, 3903,
// 6086). "Unknown" means none of these: a UAS answers 501 rather than 405.
bool is_known_method(std::string_view method);

}  // namespace exphone::sip
