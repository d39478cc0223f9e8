// Message boundaries in a SIP byte stream (TCP, TLS): RFC 3261 section 18.3 framing by
// Content-Length, and the RFC 5626 section 3.5.1 keepalives (CRLFCRLF ping, CRLF pong).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sip/limits.h"

namespace exphone::sip {

class StreamFramer {
 public:
  enum class Event { kNeedMore, kMessage, kPing, kPong };

  // role_client: a lone CRLF is a pong to our ping and is reported at once; on the server side
  // a CRLF may be the first half of a ping, so it waits for the second one.
  explicit StreamFramer(bool role_client = true, Limits limits = {})
      : limits_(limits), client_(role_client) {}

  // Appends received bytes. Fails when the buffered, incomplete data exceeds the limits; the
  // connection should then be closed (the framer refuses further input until reset()).
  Status feed(std::string_view bytes);

  // Extracts the next event. For kMessage, *message receives the bytes of one whole message
  // (ready for Message::parse). Errors (missing Content-Length, too large, garbage) are fatal
  // for the stream: framing is lost, so the connection must be closed.
  Result<Event> next(std::string* message);

  std::size_t buffered() const { return buf_.size() - start_; }
  void reset() { buf_.clear(); start_ = 0; failed_ = false; }

 private:
  Error fail(std::string code, std::string message);

  Limits limits_;
  bool client_;
  bool failed_ = false;
  std::string buf_;
  std::size_t start_ = 0;  // consumed prefix of buf_
};

}  // namespace exphone::sip
