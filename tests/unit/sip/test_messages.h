// Realistic messages shared by the SIP unit tests.
#pragma once

#include <string>

namespace exphone::sip::testdata {

// Builds a message from header lines (each without line end) and a body; CRLF line ends and a
// correct Content-Length are added unless the headers already carry one.
std::string make(const std::string& start_line, const std::string& headers_lf,
                 const std::string& body = "", bool add_content_length = true);

extern const char* const kInvite;     // INVITE with SDP (CRLF)
extern const char* const kRegister200;
extern const char* const kRinging;

}  // namespace exphone::sip::testdata
