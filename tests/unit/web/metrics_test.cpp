#include "web/metrics.h"

#include <gtest/gtest.h>

using namespace exphone::web;
using json = nlohmann::ordered_json;

TEST(WebMetrics, RendersExposition) {
  MetricsInput in;
  in.status = {{"accounts",
                {{{"name", "office"}, {"registered", true}, {"transport", "tls"}, {"tls", {{"version", "TLSv1.3"}}}, {"failover", {{"failovers", 2}}}},
                 {{"name", "we\"ird\\"}, {"registered", false}, {"transport", "udp"}}}},
               {"calls", {{{"secure", true}, {"media", {{"srtp_auth_failures", 3}, {"replays_dropped", 1}}}}}},
               {"warnings", json::array()}};
  in.ended.add({{"secure", true}, {"media", {{"srtp_auth_failures", 4}, {"replays_dropped", 0}}}});
  in.ended.add({{"secure", false}, {"media", {{"srtp_auth_failures", 0}, {"replays_dropped", 5}}}});
  in.device_cert_days = 42;
  std::string m = render_metrics(in);
  auto has = [&](const std::string& line) { return m.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("exphone_registration_up{account=\"office\",transport=\"tls\",tls_version=\"TLSv1.3\"} 1")) << m;
  EXPECT_TRUE(has("exphone_registration_up{account=\"we\\\"ird\\\\\",transport=\"udp\",tls_version=\"\"} 0")) << m;
  EXPECT_TRUE(has("exphone_registration_failovers_total{account=\"office\"} 2"));
  EXPECT_TRUE(has("exphone_calls_active 1"));
  EXPECT_TRUE(has("exphone_secure_calls_active 1"));
  EXPECT_TRUE(has("exphone_calls_total 2"));
  EXPECT_TRUE(has("exphone_secure_calls_total 1"));
  EXPECT_TRUE(has("exphone_srtp_auth_failures_total 7"));
  EXPECT_TRUE(has("exphone_srtp_replays_total 6"));
  EXPECT_TRUE(has("exphone_certificate_expiry_days{certificate=\"device\"} 42"));
  EXPECT_TRUE(has("# TYPE exphone_registration_up gauge"));
  EXPECT_TRUE(has("exphone_warnings 0"));
  // every sample line is "name{labels} value" or "name value"
  std::size_t pos = 0;
  while (pos < m.size()) {
    std::size_t end = m.find('\n', pos);
    ASSERT_NE(end, std::string::npos) << "the exposition ends with a newline";
    std::string line = m.substr(pos, end - pos);
    if (line[0] != '#') EXPECT_NE(line.rfind(' '), std::string::npos) << line;
    pos = end + 1;
  }
}

TEST(WebMetrics, ClockAndProvisioning) {
  MetricsInput in;
  in.status = {{"clock", {{"ntp_configured", true}, {"synchronized", false}, {"plausible", false}}},
               {"provisioning", {{"state", "failed"}, {"pending", nullptr}}}};
  std::string m = render_metrics(in);
  EXPECT_NE(m.find("exphone_clock_synchronized 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("exphone_clock_plausible 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("exphone_provisioning_ok{state=\"failed\"} 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("exphone_provisioning_pending 0\n"), std::string::npos) << m;
  in.status = {{"clock", {{"ntp_configured", true}, {"synchronized", true}, {"plausible", true}}},
               {"provisioning", {{"state", "applied"}, {"pending", {{"since", "2026-11-26T10:00:00Z"}}}}}};
  m = render_metrics(in);
  EXPECT_NE(m.find("exphone_clock_synchronized 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("exphone_provisioning_ok{state=\"applied\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("exphone_provisioning_pending 1\n"), std::string::npos) << m;
  in.status = {{"clock", {{"ntp_configured", false}}}};  // no NTP configured: nothing to alarm on
  EXPECT_EQ(render_metrics(in).find("exphone_clock"), std::string::npos);
}

TEST(WebMetrics, EmptyStatusIsValid) {
  MetricsInput in;
  std::string m = render_metrics(in);
  EXPECT_NE(m.find("exphone_calls_active 0\n"), std::string::npos);
  EXPECT_EQ(m.find("exphone_certificate_expiry_days"), std::string::npos);
}

TEST(WebMetrics, TrustedCaExpiryAndAuditFindings) {
  MetricsInput in;
  in.ca_cert_days = {{"root \"a\".pem", 900}, {"root \"a\".pem", -3}};
  in.audit_errors = 2;
  in.audit_warnings = 5;
  std::string out = render_metrics(in);
  EXPECT_NE(out.find("exphone_certificate_expiry_days{certificate=\"ca\",file=\"root \\\"a\\\".pem\",index=\"0\"} 900\n"), std::string::npos) << out;
  EXPECT_NE(out.find("index=\"1\"} -3\n"), std::string::npos);
  EXPECT_NE(out.find("exphone_audit_findings{severity=\"error\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("exphone_audit_findings{severity=\"warning\"} 5\n"), std::string::npos);
}
