#include "tools/check_server/legacy_probe.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

namespace exphone::tools::check_server {

namespace asio = boost::asio;

namespace {

std::string version_name(int v) { return v == TLS1_VERSION ? "TLSv1" : v == TLS1_1_VERSION ? "TLSv1.1" : "?"; }

// A client context speaking only `version`. OpenSSL 3 refuses TLS < 1.2 at security level 1
// and above (SHA-1/MD5 in the handshake), so level 0 is set here, for this probe only.
SSL_CTX* legacy_context(int version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_security_level(ctx, 0);
  if (SSL_CTX_set_min_proto_version(ctx, version) != 1 || SSL_CTX_set_max_proto_version(ctx, version) != 1 ||
      SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0") != 1) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace

LegacyProbe probe_legacy_version(const net::Target& target, int version, Millis timeout) {
  LegacyProbe out;
  out.version = version_name(version);
  ERR_clear_error();
  SSL_CTX* raw = legacy_context(version);
  if (raw == nullptr) {
    out.detail = "this OpenSSL cannot offer " + out.version;
    ERR_clear_error();
    return out;
  }
  asio::io_context io;
  asio::ssl::context ctx(raw);  // takes ownership
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, ctx);
  bool is_ip = false;
  {
    boost::system::error_code ec;
    (void)asio::ip::make_address(target.server_name, ec);
    is_ip = !ec || target.server_name.find(':') != std::string::npos;
  }
  if (!is_ip) SSL_set_tlsext_host_name(stream.native_handle(), target.server_name.c_str());

  asio::steady_timer deadline(io, timeout);
  bool timed_out = false;
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    timed_out = true;
    boost::system::error_code ignored;
    stream.next_layer().close(ignored);
  });
  asio::ip::tcp::endpoint ep(target.endpoint.address, target.endpoint.port);
  stream.next_layer().async_connect(ep, [&](const boost::system::error_code& ec) {
    if (ec) {
      out.detail = timed_out ? "no TCP connection within the timeout" : "TCP connect failed: " + ec.message();
      deadline.cancel();
      return;
    }
    stream.async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& hec) {
      deadline.cancel();
      if (timed_out) {
        out.detail = "no handshake within the timeout";
        return;
      }
      if (!hec) {
        out.accepted = SSL_version(stream.native_handle()) == version;
        if (!*out.accepted) out.detail = std::string("negotiated ") + SSL_get_version(stream.native_handle());
        boost::system::error_code ignored;
        stream.next_layer().close(ignored);
        return;
      }
      // Refused: a protocol_version alert, a handshake_failure, or the connection closed.
      out.accepted = false;
      out.detail = hec.message();
    });
  });
  io.run();
  ERR_clear_error();
  return out;
}

}  // namespace exphone::tools::check_server
