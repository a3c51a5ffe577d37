#include "oshin/http/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <exception>
#include <set>
#include <stdexcept>
#include <utility>

#include "oshin/http/codec.hpp"

namespace oshin::http {
namespace {

// A request target split into decoded path segments and decoded query parameters.
struct Target {
  std::vector<std::string> segments;
  std::map<std::string, std::string, std::less<>> query;
  bool bad_path = false;  // empty, "." or ".." segment, or an encoded '/' or NUL
};

// Parses an origin-form target ("/a/b?x=1"). Returns nullopt when it is not valid origin-form
// (bad percent-encoding, absolute-form, ...). Never throws.
std::optional<Target> parse_target(std::string_view raw) {
  auto parsed = boost::urls::parse_origin_form(raw);
  if (!parsed) {
    return std::nullopt;
  }
  const boost::urls::url_view& url = *parsed;
  Target target;
  for (const std::string& segment : url.segments()) {
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      target.bad_path = true;
    }
    target.segments.push_back(segment);
  }
  if (url.has_query()) {
    for (auto param : url.params()) {
      // The first occurrence of a key wins; later duplicates are ignored.
      target.query.emplace(std::move(param.key), std::move(param.value));
    }
  }
  return target;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

bool is_rest_param(std::string_view segment) {
  return is_param(segment) && segment.size() >= 4 && segment[segment.size() - 2] == '*';
}

// "{id}" -> "id", "{path*}" -> "path".
std::string param_name(std::string_view segment) {
  std::size_t drop = is_rest_param(segment) ? 3 : 2;
  return std::string(segment.substr(1, segment.size() - drop));
}

using Params = std::map<std::string, std::string, std::less<>>;

// How specific a match is, position by position: literal (2) beats {param} (1) beats {rest*} (0).
using Rank = std::vector<int>;

// Matches decoded path segments against a pattern's segments.
bool match_segments(const std::vector<std::string>& pattern,
                    const std::vector<std::string>& segments, Params* params, Rank* rank) {
  params->clear();
  rank->clear();
  std::size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (is_rest_param(p)) {
      if (i >= segments.size()) {
        return false;
      }
      std::string rest;
      for (std::size_t j = i; j < segments.size(); ++j) {
        if (j != i) {
          rest.push_back('/');
        }
        rest += segments[j];
      }
      (*params)[param_name(p)] = std::move(rest);
      rank->push_back(0);
      return true;
    }
    if (i >= segments.size()) {
      return false;
    }
    if (is_param(p)) {
      (*params)[param_name(p)] = segments[i];
      rank->push_back(1);
    } else if (p == segments[i]) {
      rank->push_back(2);
    } else {
      return false;
    }
  }
  return i == segments.size();
}

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/'");
  }
  pattern.remove_prefix(1);
  while (!pattern.empty()) {
    auto slash = pattern.find('/');
    auto segment = pattern.substr(0, slash);
    if (segment.empty()) {
      throw std::invalid_argument("route pattern has an empty segment");
    }
    out.emplace_back(segment);
    if (slash == std::string_view::npos) {
      break;
    }
    pattern.remove_prefix(slash + 1);
  }
  return out;
}

bool is_token68(std::string_view token) {
  if (token.empty()) {
    return false;
  }
  std::size_t i = 0;
  for (; i < token.size(); ++i) {
    char c = token[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) {
      break;
    }
  }
  if (i == 0) {
    return false;
  }
  // Only trailing '=' padding may follow.
  for (; i < token.size(); ++i) {
    if (token[i] != '=') {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

const std::string& RequestContext::param(std::string_view name) const {
  static const std::string kEmpty;
  auto it = path_params.find(name);
  return it == path_params.end() ? kEmpty : it->second;
}

std::optional<std::string> RequestContext::query_param(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::string_view> bearer_token(const Request& req) {
  if (req.count(beast_http::field::authorization) != 1) {
    return std::nullopt;
  }
  std::string_view value = trim(req[beast_http::field::authorization]);
  auto space = value.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  if (!boost::beast::iequals(value.substr(0, space), "Bearer")) {
    return std::nullopt;
  }
  std::string_view token = trim(value.substr(space + 1));
  if (!is_token68(token)) {
    return std::nullopt;
  }
  return token;
}

void Router::add(beast_http::verb method, std::string pattern, Access access, Handler handler,
                 std::vector<std::string> produces) {
  auto segments = split_pattern(pattern);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (is_rest_param(segments[i]) && i + 1 != segments.size()) {
      throw std::invalid_argument("a {name*} segment must be the last one: " + pattern);
    }
  }
  for (const Route& route : routes_) {
    if (route.method == method && route.segments == segments) {
      throw std::invalid_argument("duplicate route: " + pattern);
    }
  }
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), access,
                          std::move(handler), std::move(produces)});
}

const Router::Route* Router::best_route(
    const std::vector<std::string>& segments, std::optional<beast_http::verb> method,
    std::map<std::string, std::string, std::less<>>* params) const {
  const Route* best = nullptr;
  Rank best_rank;
  Params candidate_params;
  Rank rank;
  for (const Route& route : routes_) {
    if (method && route.method != *method) {
      continue;
    }
    if (!match_segments(route.segments, segments, &candidate_params, &rank)) {
      continue;
    }
    if (best == nullptr || rank > best_rank) {
      best = &route;
      best_rank = rank;
      if (params != nullptr) {
        *params = candidate_params;
      }
    }
  }
  return best;
}

void Router::dispatch(std::shared_ptr<RequestContext> ctx, Responder respond) const {
  const Request& req = ctx->request;
  // Everything below handles untrusted input: failures become error responses, and a throwing
  // handler (or authenticator) is answered 500 instead of unwinding into the connection.
  try {
    auto limited = [&](RateLimiter* limiter, std::string_view key) {
      if (limiter == nullptr || key.empty()) {
        return false;
      }
      auto wait = limiter->take(key);
      if (wait.count() == 0) {
        return false;
      }
      auto res = make_error_response(req, Errc::rate_limited);
      res.set(beast_http::field::retry_after, std::to_string(wait.count()));
      respond(std::move(res));
      return true;
    };
    if (limited(per_address_, ctx->peer_address)) {
      return;
    }
    auto target = parse_target(req.target());
    if (!target) {
      respond(make_error_response(req, Errc::malformed_request, "invalid request target"));
      return;
    }
    ctx->query = std::move(target->query);
    if (target->bad_path) {
      respond(make_error_response(req, Errc::not_found));
      return;
    }

    Params params;
    const Route* route = best_route(target->segments, req.method(), &params);
    if (route == nullptr && req.method() == beast_http::verb::head) {
      // HEAD is answered by the GET handler; the connection drops the body.
      route = best_route(target->segments, beast_http::verb::get, &params);
    }
    if (route == nullptr) {
      const Route* any = best_route(target->segments, std::nullopt, nullptr);
      if (any == nullptr) {
        respond(make_error_response(req, Errc::not_found));
        return;
      }
      ctx->route = any->pattern;
      std::set<std::string> allowed;
      Params ignored;
      Rank rank;
      for (const Route& r : routes_) {
        if (match_segments(r.segments, target->segments, &ignored, &rank)) {
          allowed.emplace(beast_http::to_string(r.method));
          if (r.method == beast_http::verb::get) {
            allowed.emplace("HEAD");
          }
        }
      }
      std::string allow;
      for (const std::string& m : allowed) {
        if (!allow.empty()) {
          allow += ", ";
        }
        allow += m;
      }
      auto res = make_error_response(req, Errc::method_not_allowed);
      res.set(beast_http::field::allow, allow);
      respond(std::move(res));
      return;
    }

    ctx->route = route->pattern;
    ctx->path_params = std::move(params);

    bool acceptable =
        route->produces.empty()
            ? response_format(req).has_value()
            : std::any_of(route->produces.begin(), route->produces.end(),
                          [&req](const std::string& type) { return accepts(req, type); });
    if (!acceptable) {
      respond(make_error_response(req, Errc::not_acceptable));
      return;
    }

    if (!route->access.public_route) {
      auto token = bearer_token(req);
      std::optional<Principal> principal;
      if (token && authenticator_ != nullptr) {
        principal = authenticator_->authenticate(*token);
      }
      if (!principal) {
        auto res = make_error_response(req, Errc::unauthenticated);
        res.set(beast_http::field::www_authenticate,
                token ? "Bearer error=\"invalid_token\"" : "Bearer");
        respond(std::move(res));
        return;
      }
      if (!route->access.roles.contains(principal->role)) {
        respond(make_error_response(req, Errc::permission_denied));
        return;
      }
      if (principal->totp_enrolment_only && !route->access.during_totp_enrolment) {
        respond(make_error_response(req, Errc::totp_enrolment_required));
        return;
      }
      if (limited(per_account_, principal->user_id)) {
        return;
      }
      ctx->principal = std::move(principal);
    }
    // Our own reference keeps `req` valid for the catch blocks below.
    route->handler(ctx, respond);
  } catch (const std::exception& e) {
    spdlog::error("handler for {} threw: {}", ctx ? ctx->route : std::string(), e.what());
    respond(make_error_response(req, Errc::internal));
  } catch (...) {
    spdlog::error("handler threw a non-standard exception");
    respond(make_error_response(req, Errc::internal));
  }
}

std::string Router::match_pattern(std::string_view target) const {
  auto parsed = parse_target(target);
  if (!parsed || parsed->bad_path) {
    return {};
  }
  const Route* route = best_route(parsed->segments, std::nullopt, nullptr);
  return route == nullptr ? std::string() : route->pattern;
}

}  // namespace oshin::http
