#include "net/dns.h"

#include <arpa/nameser.h>
#include <netdb.h>

#include <cstring>
#include <mutex>

namespace exphone::net {

namespace asio = boost::asio;

namespace {

Error dns_error(int status, const std::string& name) {
  return make_error("dns-failed", name + ": " + ares_strerror(status));
}

bool no_data(int status) { return status == ARES_ENODATA || status == ARES_ENOTFOUND; }

template <class T>
struct Query {
  DnsResolver* self;
  std::weak_ptr<bool> alive;
  std::string name;
  std::function<void(Result<T>)> done;
};

}  // namespace

DnsResolver::DnsResolver(asio::io_context& io) : io_(io), timer_(io) {}

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(asio::io_context& io, const std::vector<std::string>& servers) {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  std::unique_ptr<DnsResolver> r(new DnsResolver(io));
  ares_options opts{};
  opts.timeout = 2000;  // ms per try (ARES_OPT_TIMEOUTMS)
  opts.tries = 2;
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int st = ares_init_options(&r->channel_, &opts, mask);
  if (st != ARES_SUCCESS) return make_error("dns-failed", std::string("resolver init: ") + ares_strerror(st));
  if (!servers.empty()) {
    std::string csv;
    for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
    st = ares_set_servers_ports_csv(r->channel_, csv.c_str());
    if (st != ARES_SUCCESS) return make_error("config", "DNS servers '" + csv + "': " + ares_strerror(st));
  }
  return r;
}

DnsResolver::~DnsResolver() {
  *alive_ = false;
  timer_.cancel();
  for (auto& [fd, s] : sockets_) {
    s.desc->cancel();
    s.desc->release();  // c-ares owns the descriptor
  }
  sockets_.clear();
  if (channel_) ares_destroy(channel_);  // pending callbacks run with ARES_EDESTRUCTION
}

void DnsResolver::wait_on(int fd, bool write) {
  Socket& s = sockets_[fd];
  if (!s.desc) s.desc = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  bool& flag = write ? s.writing : s.reading;
  if (flag) return;
  flag = true;
  std::weak_ptr<bool> alive = alive_;
  s.desc->async_wait(write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read,
                     [this, alive, fd, write](const boost::system::error_code& ec) {
                       if (alive.expired()) return;
                       auto it = sockets_.find(fd);
                       if (it != sockets_.end()) (write ? it->second.writing : it->second.reading) = false;
                       if (ec) return;
                       ares_process_fd(channel_, write ? ARES_SOCKET_BAD : fd, write ? fd : ARES_SOCKET_BAD);
                       watch();
                     });
}

void DnsResolver::watch() {
  ares_socket_t socks[ARES_GETSOCK_MAXNUM];
  int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
  std::map<int, bool> live;
  for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
    bool r = ARES_GETSOCK_READABLE(bits, i);
    bool w = ARES_GETSOCK_WRITABLE(bits, i);
    if (!r && !w) continue;
    live[socks[i]] = true;
    if (r) wait_on(socks[i], false);
    if (w) wait_on(socks[i], true);
  }
  // forget sockets c-ares closed
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    if (!live.count(it->first)) {
      it->second.desc->cancel();
      it->second.desc->release();
      it = sockets_.erase(it);
    } else {
      ++it;
    }
  }
  timeval tv{};
  timeval* t = ares_timeout(channel_, nullptr, &tv);
  timer_.cancel();
  if (!t || live.empty()) return;
  timer_.expires_after(std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // handles timeouts
    watch();
  });
}

void DnsResolver::naptr(const std::string& name, std::function<void(Result<std::vector<NaptrRecord>>)> done) {
  auto* q = new Query<std::vector<NaptrRecord>>{this, alive_, name, std::move(done)};
  ares_query(channel_, name.c_str(), ns_c_in, ns_t_naptr, [](void* arg, int status, int, unsigned char* buf, int len) {
    std::unique_ptr<Query<std::vector<NaptrRecord>>> q(static_cast<Query<std::vector<NaptrRecord>>*>(arg));
    if (q->alive.expired() || status == ARES_EDESTRUCTION) return;
    if (no_data(status)) return q->done(std::vector<NaptrRecord>{});
    if (status != ARES_SUCCESS) return q->done(dns_error(status, q->name));
    ares_naptr_reply* reply = nullptr;
    int st = ares_parse_naptr_reply(buf, len, &reply);
    if (st != ARES_SUCCESS) return q->done(no_data(st) ? Result<std::vector<NaptrRecord>>(std::vector<NaptrRecord>{}) : Result<std::vector<NaptrRecord>>(dns_error(st, q->name)));
    std::vector<NaptrRecord> out;
    for (auto* r = reply; r; r = r->next)
      out.push_back({r->order, r->preference, reinterpret_cast<const char*>(r->flags),
                     reinterpret_cast<const char*>(r->service), r->replacement ? r->replacement : ""});
    ares_free_data(reply);
    q->done(std::move(out));
  }, q);
  watch();
}

void DnsResolver::srv(const std::string& name, std::function<void(Result<std::vector<SrvRecord>>)> done) {
  auto* q = new Query<std::vector<SrvRecord>>{this, alive_, name, std::move(done)};
  ares_query(channel_, name.c_str(), ns_c_in, ns_t_srv, [](void* arg, int status, int, unsigned char* buf, int len) {
    std::unique_ptr<Query<std::vector<SrvRecord>>> q(static_cast<Query<std::vector<SrvRecord>>*>(arg));
    if (q->alive.expired() || status == ARES_EDESTRUCTION) return;
    if (no_data(status)) return q->done(std::vector<SrvRecord>{});
    if (status != ARES_SUCCESS) return q->done(dns_error(status, q->name));
    ares_srv_reply* reply = nullptr;
    int st = ares_parse_srv_reply(buf, len, &reply);
    if (st != ARES_SUCCESS) return q->done(no_data(st) ? Result<std::vector<SrvRecord>>(std::vector<SrvRecord>{}) : Result<std::vector<SrvRecord>>(dns_error(st, q->name)));
    std::vector<SrvRecord> out;
    for (auto* r = reply; r; r = r->next) out.push_back({r->priority, r->weight, r->port, r->host ? r->host : ""});
    ares_free_data(reply);
    q->done(std::move(out));
  }, q);
  watch();
}

void DnsResolver::addresses(const std::string& name, std::function<void(Result<std::vector<asio::ip::address>>)> done) {
  auto* q = new Query<std::vector<asio::ip::address>>{this, alive_, name, std::move(done)};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, [](void* arg, int status, int, ares_addrinfo* res) {
    std::unique_ptr<Query<std::vector<asio::ip::address>>> q(static_cast<Query<std::vector<asio::ip::address>>*>(arg));
    if (q->alive.expired() || status == ARES_EDESTRUCTION) {
      if (res) ares_freeaddrinfo(res);
      return;
    }
    if (status != ARES_SUCCESS) {
      if (res) ares_freeaddrinfo(res);
      return q->done(dns_error(status, q->name));
    }
    std::vector<asio::ip::address> out;
    for (auto* n = res ? res->nodes : nullptr; n; n = n->ai_next) {
      if (n->ai_family == AF_INET) {
        auto* sa = reinterpret_cast<sockaddr_in*>(n->ai_addr);
        out.push_back(asio::ip::address_v4(ntohl(sa->sin_addr.s_addr)));
      } else if (n->ai_family == AF_INET6) {
        auto* sa = reinterpret_cast<sockaddr_in6*>(n->ai_addr);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &sa->sin6_addr, 16);
        out.push_back(asio::ip::address_v6(b));
      }
    }
    if (res) ares_freeaddrinfo(res);
    q->done(std::move(out));
  }, q);
  watch();
}

}  // namespace exphone::net
