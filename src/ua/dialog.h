// SIP dialogs (RFC 3261 section 12): the peer-to-peer relationship an INVITE creates — its
// identifier, sequence numbers, route set and remote target — and the requests sent inside it.
// Pure state over owned strings: no timers, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/message.h"

namespace exphone::ua {

struct DialogId {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  bool operator==(const DialogId&) const = default;
};

class Dialog {
 public:
  enum class State { kEarly, kConfirmed, kTerminated };

  // UAC side (section 12.1.2): from the request we sent and a 1xx (early) or 2xx (confirmed)
  // response that carries a To tag. Errors: "dialog-no-tag", "dialog-bad-response".
  static Result<Dialog> from_uac(const sip::Message& request, const sip::Message& response);
  // UAS side (section 12.1.1): from the dialog-creating request and the tag we put in To.
  // `secure_transport` is true when the request arrived over TLS.
  static Result<Dialog> from_uas(const sip::Message& request, std::string local_tag, bool secure_transport);

  const DialogId& id() const { return id_; }
  State state() const { return state_; }
  bool secure() const { return secure_; }  // section 12.1: sips Request-URI over TLS
  std::uint32_t local_seq() const { return local_seq_; }
  std::optional<std::uint32_t> remote_seq() const { return remote_seq_; }
  const std::string& remote_target() const { return remote_target_; }
  const std::vector<std::string>& route_set() const { return route_set_; }

  // The 2xx that confirms an early dialog (section 13.2.2.4: the route set is recomputed from it).
  Status confirm(const sip::Message& response);
  void terminate() { state_ = State::kTerminated; }

  // A request inside the dialog (section 12.2.1.1): Request-URI and Route per the route set
  // (loose routing, or the strict-router rewrite), From/To with tags, Call-ID, CSeq. ACK and
  // CANCEL reuse the INVITE's number (`cseq`); other methods take the next local number.
  // `via` is the Via value the transport layer chose (with a fresh branch).
  Result<sip::Message> make_request(std::string_view method, std::string_view via,
                                    std::optional<std::uint32_t> cseq = std::nullopt);

  // An in-dialog request arrived (section 12.2.2). Returns 0 to process it, or the status to
  // answer: 500 when its CSeq is lower than the last one (an out-of-order request). A target
  // refresh (re-INVITE, UPDATE) with a Contact updates the remote target.
  int receive_request(const sip::Message& request);
  // A 2xx to our target-refresh request (section 12.2.1.2) updates the remote target.
  void receive_refresh_response(const sip::Message& response);

  // True when an incoming message belongs to this dialog (Call-ID and both tags match; for a
  // request the remote tag is in From, for a response in To).
  bool matches(const sip::Message& m) const;

 private:
  Dialog() = default;

  DialogId id_;
  State state_ = State::kEarly;
  bool secure_ = false;
  std::uint32_t local_seq_ = 0;
  std::optional<std::uint32_t> remote_seq_;
  std::string local_uri_;   // From (UAC) / To (UAS) without tag, as a name-addr
  std::string remote_uri_;
  std::string remote_target_;            // Contact URI of the peer
  std::vector<std::string> route_set_;   // "<sip:proxy;lr>" in the order requests must traverse
};

}  // namespace exphone::ua
