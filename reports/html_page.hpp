// What the self-contained HTML pages (the run report, the sweep summary) share: HTML escaping
// and the page's head with the common style.
#pragma once

#include <string>
#include <string_view>

namespace sim::reports {

// Text for HTML content or a double- or single-quoted attribute.
std::string html_escape(std::string_view s);

// "<!DOCTYPE html>...<body>\n": the title (escaped), the generator, the style every page shares
// (fonts, margins, headings, description and command lines) followed by `page_css`.
std::string html_page_head(std::string_view title, std::string_view page_css);

}  // namespace sim::reports
