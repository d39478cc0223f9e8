// Server-rendered HTML of the admin page: no scripts, no external resources (the CSP forbids
// them), every value HTML-escaped.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace exphone::web {

// `no_password`: no [web] password_hash is set (the page says how to set one).
std::string login_page(const std::string& form_token, const std::string& message, bool no_password);
// The status page from the control socket's status JSON; `csrf` goes into the forms.
// `extras`: {"certificates": web/admin.h certificates_json, "audit": {"errors", "warnings"}} or null.
std::string status_page(const nlohmann::ordered_json& status, const std::string& csrf,
                        const nlohmann::ordered_json& extras = nullptr);
std::string error_page(const std::string& title, const std::string& message);

// The common frame (title, style) and the navigation bar of the logged-in pages.
std::string page(const std::string& title, const std::string& body);
std::string nav();

// admin_pages.cpp. `read_only`: why changes are refused ("" = they are not); `message`: the result
// of the last change (error true: it was refused).
std::string account_page(const nlohmann::ordered_json& accounts, const std::string& csrf, const std::string& message, bool error,
                         const std::string& read_only);
std::string certificates_page(const nlohmann::ordered_json& certificates, const std::string& csrf, const std::string& message,
                              bool error, const std::string& read_only);
std::string diagnostics_page(const nlohmann::ordered_json& certificates, const nlohmann::ordered_json& audit, const std::string& csrf,
                             const std::string& message, bool error, const std::string& read_only);
// The verdict of check-server (tools/check_server/report_json.h) in words, with the chain.
std::string check_server_page(const nlohmann::ordered_json& report);
// A CSR made on the phone, to take to the site CA.
std::string csr_page(const std::string& csr_pem);
// After a saved change: the phone restarts on it.
std::string applied_page(const std::string& what);
// Why a call report is not secure ("" when it is): the padlock's missing half.
std::string insecure_reason(const nlohmann::ordered_json& call_report);

}  // namespace exphone::web
