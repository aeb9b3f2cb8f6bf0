// Shared parts of xnusim's HTML pages (html_page.hpp).
#include "reports/html_page.hpp"

namespace sim::reports {

namespace {

constexpr std::string_view kCommonCss = R"(
:root{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;}
body{margin:16px 24px;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ccc}
p.desc{max-width:110ch;color:#333;font-size:13px;line-height:1.4} p.cmd,code{font-family:ui-monospace,monospace;font-size:12px;color:#555}
)";

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_page_head(std::string_view title, std::string_view page_css) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"generator\" content=\"xnusim\"><title>" + html_escape(title) + "</title>";
  out += "<style>";
  out += kCommonCss;
  out += page_css;
  out += "</style></head><body>\n";
  return out;
}

}  // namespace sim::reports
