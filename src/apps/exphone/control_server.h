// The phone's local control socket (`exphone ctl`): a Unix stream socket, one command line in,
// one JSON object out, then the connection closes. The socket file is created mode 0600 in a
// directory only its owner can enter: whoever may drive the phone must already be that user.
//
// Commands: status | dial TARGET [ACCOUNT] | answer [CALL-ID] | hangup [CALL-ID] |
//           hold [CALL-ID] | resume [CALL-ID] | dtmf DIGITS [CALL-ID] | press emergency |
//           reprovision (when the daemon provisions, docs/provisioning.md)
// Replies:  {"ok":true,...} or {"ok":false,"error":{"code","message"}}; status replies carry
//           "accounts" (registration per account) and "calls" (each a call report).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/result.h"
#include "core/trusted_clock.h"
#include "phone/phone.h"

namespace exphone::cli {

// The default socket: $RUNTIME_DIRECTORY/ctl.sock under systemd, else /run/exphone/ctl.sock for
// root, else /tmp/exphone-UID/ctl.sock.
std::string default_control_socket();

class ControlServer {
 public:
  // `clock` (may be null): the trusted clock reported as "clock" in status.
  static Result<std::unique_ptr<ControlServer>> open(boost::asio::io_context& io, phone::Phone& phone,
                                                     const std::string& path,
                                                     std::shared_ptr<const TrustedClock> clock = nullptr);
  ~ControlServer();

  // One command line -> the JSON reply (also used by tests without a socket).
  // provisioning_config (may be null): the config path whose provisioning state (C.provisioning.json)
  // is reported as "provisioning" in status.
  static std::string execute(phone::Phone& phone, const std::string& line, const TrustedClock* clock = nullptr,
                             const std::string* provisioning_config = nullptr);
  // [provisioning] configured: status carries its state (docs/provisioning.md).
  void set_provisioning_config(std::string config_path) { provisioning_config_ = std::move(config_path); }
  // A command answered later (its reply is one JSON line): `reprovision` waits for the round.
  using AsyncCommand = std::function<void(const std::string& args, std::function<void(std::string)> reply)>;
  void add_async_command(const std::string& name, AsyncCommand c) { async_[name] = std::move(c); }

 private:
  ControlServer(boost::asio::io_context& io, phone::Phone& phone, std::string path);
  void accept();

  phone::Phone& phone_;
  std::string path_;
  std::shared_ptr<const TrustedClock> clock_;
  std::string provisioning_config_;
  std::map<std::string, AsyncCommand> async_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::cli
