// The phone's user agent core (RFC 3261 section 8.2 and 12.2.2): its accounts (registrations),
// its calls, and the gate every incoming request passes.
//
// The gate: nobody on the LAN may ring, auto-answer or hang up an emergency phone with a forged
// request. A request is taken only when it arrives
//   - on a registrar's flow (the connection REGISTER opened, or for UDP the registrar's address),
//   - over TLS from a client whose certificate verified against the configured CAs (mutual TLS),
//   - or from an address on [phone] allow_peers.
// Anything else gets 403 and a log line, and touches no call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/dns.h"
#include "phone/call.h"
#include "phone/hotline.h"
#include "phone/paging.h"
#include "phone/config.h"
#include "ua/registration.h"

namespace exphone::phone {

class Phone {
 public:
  Phone(CallEnv env, net::DnsResolver& dns, const Config& config);
  ~Phone();

  // Starts the registrations of every account.
  void start();
  // Hangs up every call and unregisters; `done` runs when finished (bounded by the caller).
  void shutdown(std::function<void()> done);

  // A request the transaction layer did not absorb. Returns false to let the stack answer it
  // (out-of-dialog OPTIONS and the like).
  bool on_request(const sip::Message& m, const net::FlowPtr& flow);

  // Places a call. `target`: "sip:"/"sips:" URI with an IP host (peer-to-peer, transport from
  // the scheme and ;transport=, RFC 3263 section 4.1), or a number / URI for the PBX, sent over
  // the first registered account (or the one named). Returns the Call-ID.
  Result<std::string> dial(const std::string& target, CallSettings settings, const std::string& account = "");
  Status answer(const std::string& call_id = "");   // "" = the call that rings
  Status hang_up(const std::string& call_id = "");  // "" = every call
  Status hold(const std::string& call_id, bool on);
  Status send_dtmf(const std::string& call_id, const std::string& digits);  // "" = the established call
  // A button: "emergency" (the hotline, [emergency] targets).
  Status press(const std::string& button);
  const Hotline* hotline() const { return hotline_.get(); }
  // [paging] (phone_paging.cpp): joins the configured groups; call after start(). A page of
  // priority >= hold_calls_from holds the established calls and resumes them when it ends.
  // Errors: paging-join, media-config, srtp-*.
  Status start_paging();
  const Paging* paging() const { return paging_.get(); }

  std::vector<CallReport> calls();
  // Standing warnings for the status (key exports that are on, docs/diagnostics.md).
  std::vector<std::string> warnings() const;
  const std::vector<std::unique_ptr<ua::RegistrationClient>>& accounts() const { return accounts_; }
  // The media policy of calls through accounts()[i] ([phone] with the account's overrides).
  ua::MediaPolicy account_media(std::size_t i) const { return config_.media_for(i); }
  Call* find(const std::string& call_id);

  // Runs when a call ended, with its final report.
  std::function<void(const CallReport&)> on_call_end;
  std::function<void(Call&)> on_call_state;
  std::function<void(const ua::RegistrationClient&)> on_registration_change;

  // What a call we answer or place uses unless dial() says otherwise (from the config).
  const CallSettings& call_settings() const { return settings_; }
  void set_call_settings(CallSettings s) { settings_ = std::move(s); }

 private:
  // The account whose registration flow `flow` is (or, over UDP, whose registrar it comes from).
  std::optional<std::size_t> account_of(const net::FlowPtr& flow) const;
  bool from_registrar(const net::FlowPtr& flow) const;
  // Calls through accounts[i] follow its [[account]] srtp / key_exchange (Config::media_for).
  void use_account_media(CallSettings& s, std::size_t account) const;
  // The account flow that replaced `dead` (same registrar address and protocol), or null.
  net::FlowPtr replacement_flow(const net::FlowPtr& dead) const;
  bool authorized(const sip::Message& m, const net::FlowPtr& flow);
  std::string auto_answer_refusal(const sip::Message& m, const net::FlowPtr& flow) const;  // "" = answer
  void new_call(const sip::Message& m, const net::FlowPtr& flow, txn::ServerTransaction* st);
  void ended(Call& call);
  void state_changed(Call& call);
  Call* owner(const sip::Message& m);
  Call* established(const std::string& call_id);  // by id, or the first confirmed call

  CallEnv env_;
  CallSettings settings_;
  net::DnsResolver& dns_;
  const Config& config_;
  std::vector<std::unique_ptr<ua::RegistrationClient>> accounts_;
  std::map<std::string, std::unique_ptr<Call>> calls_;  // by Call-ID
  std::unique_ptr<Hotline> hotline_;
  void hold_for_page(bool hold);
  std::unique_ptr<Paging> paging_;
  std::vector<std::string> page_held_;  // calls a page put on hold, resumed when it ends
  std::string tag_ = "";  // To tag for our stateless-looking refusals (403, 481)
  // At most kMaxCalls live calls. When full, a new INVITE sheds the oldest incoming call that is
  // still ringing (480, never an answered one): a storm of unanswered INVITEs cannot keep the
  // line busy; with no ringing call to shed the newcomer gets 486.
  static constexpr std::size_t kMaxCalls = 8;
  bool shed_oldest_ringing();
  std::map<std::string, std::uint64_t> arrival_;  // Call-ID -> arrival order of incoming calls
  std::uint64_t arrivals_ = 0;
  std::chrono::steady_clock::time_point refused_logged_at_{};  // the 403 log line is rate-limited
  std::uint64_t refused_unlogged_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for callbacks that may outlive us
};

}  // namespace exphone::phone
