#include "test_messages.h"

namespace exphone::sip::testdata {

std::string make(const std::string& start_line, const std::string& headers_lf, const std::string& body,
                 bool add_content_length) {
  std::string out = start_line + "\r\n";
  std::size_t pos = 0;
  while (pos < headers_lf.size()) {
    std::size_t nl = headers_lf.find('\n', pos);
    if (nl == std::string::npos) nl = headers_lf.size();
    out += headers_lf.substr(pos, nl - pos) + "\r\n";
    pos = nl + 1;
  }
  if (add_content_length) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

const char* const kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sips:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sips:alice@client.atlanta.example.com>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 151\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

const char* const kRegister200 =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;received=192.0.2.4\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=2493k59kd\r\n"
    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
    "Call-ID: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: <sip:bob@192.0.2.4>;expires=7200\r\n"
    "Expires: 7200\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const char* const kRinging =
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3\r\n"
    "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "Contact: <sip:bob@192.0.2.4>\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

}  // namespace exphone::sip::testdata
