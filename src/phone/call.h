// Calls on the phone: an outgoing call (exphone call) and the answering side (exphone run,
// auto-answer), with SDES-SRTP audio. Signaling: RFC 3261 INVITE/ACK/BYE through the
// transaction layer over TCP/TLS flows; media: media::RtpStream with G.711 tones.
// Scope today: peer-to-peer calls over TCP or TLS (reliable transports: no 2xx retransmission
// loop yet), one audio stream, auto-answer only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "media/rtp_stream.h"
#include "net/transport_layer.h"
#include "txn/transaction_layer.h"
#include "ua/dialog.h"
#include "ua/offer_answer.h"

namespace exphone::phone {

// The call report of DESIGN.md ("Interfaces others rely on").
struct CallReport {
  bool answered = false;
  long time_to_ring_ms = -1;
  long time_to_answer_ms = -1;
  int final_status = 0;
  std::string transport;
  std::optional<net::tls::TlsPeerInfo> tls;
  std::string codec;
  bool srtp = false;
  std::string key_exchange;  // "sdes" or "none"
  std::string suite;
  media::RtpStreamStats stats;
  double heard_tone_ratio = 0;  // energy share of the expected far-end tone in what we received
  std::optional<Error> error;
  bool secure() const;          // the padlock: TLS verified and SRTP both ways
};

struct CallSettings {
  std::string local_user = "exphone";
  ua::MediaPolicy media;
  double send_tone_hz = 1000;
  double expect_tone_hz = 440;
};

class OutgoingCall {
 public:
  OutgoingCall(boost::asio::io_context& io, net::TransportLayer& transport, txn::TransactionLayer& txns,
               CallSettings settings);
  ~OutgoingCall();
  // Calls `target` (sip:/sips: URI with an IP literal host), talks for `duration`, hangs up, then
  // runs done with the report.
  void start(const std::string& target, std::chrono::milliseconds duration, std::function<void(const CallReport&)> done);

 private:
  void connected(net::FlowPtr flow);
  void on_response(const sip::Message& r);
  void hang_up();
  void finish(std::optional<Error> e);

  boost::asio::io_context& io_;
  net::TransportLayer& transport_;
  txn::TransactionLayer& txns_;
  CallSettings settings_;
  std::string target_;
  std::chrono::milliseconds duration_{0};
  std::function<void(const CallReport&)> done_;
  net::FlowPtr flow_;
  std::unique_ptr<media::RtpStream> rtp_;
  std::optional<ua::PendingOffer> offer_;
  std::optional<ua::Dialog> dialog_;
  std::optional<sip::Message> invite_;
  std::chrono::steady_clock::time_point started_;
  CallReport report_;
  TimerService::Id hangup_timer_ = 0;
  bool finished_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Answers INVITEs automatically (intercom mode) from peers it may trust: a TLS peer whose client
// certificate verified against ca_files, or an address on the allow list. Anyone else: 403.
class AutoAnswer {
 public:
  AutoAnswer(boost::asio::io_context& io, txn::TransactionLayer& txns, CallSettings settings,
             std::vector<std::string> allowed_addresses, std::function<void(const CallReport&)> on_call_end);
  ~AutoAnswer();
  // Takes an incoming request the transaction layer did not absorb; false when not for us.
  bool on_request(const sip::Message& m, const net::FlowPtr& flow);

 private:
  struct Call;
  void invite(const sip::Message& m, const net::FlowPtr& flow);
  void end(const std::string& call_id);

  boost::asio::io_context& io_;
  txn::TransactionLayer& txns_;
  CallSettings settings_;
  std::vector<std::string> allowed_;
  std::function<void(const CallReport&)> on_call_end_;
  std::map<std::string, std::unique_ptr<Call>> calls_;  // by Call-ID
};

}  // namespace exphone::phone
