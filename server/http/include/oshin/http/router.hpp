#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/common/clock.hpp"
#include "oshin/common/principal.hpp"
#include "oshin/http/rate_limiter.hpp"

namespace oshin::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

/// Everything a handler knows about one request. Owned by a shared_ptr so an async handler can
/// keep it alive until it responds.
struct RequestContext {
  Request request;
  std::string request_id;  ///< unique per request; echoed in X-Request-Id and the log line
  std::string route;       ///< the matched pattern, e.g. "/v1/users/{id}/disable"
  std::map<std::string, std::string, std::less<>> path_params;  ///< {"id": "..."}
  std::map<std::string, std::string, std::less<>> query;        ///< URL-decoded query parameters
  std::optional<Principal> principal;  ///< set for authenticated routes before the handler runs
  std::string peer_address;
  SystemTime received_at;

  /// A path parameter, or "" when absent.
  const std::string& param(std::string_view name) const;
  /// A query parameter, or nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

/// Sends the response for one request. Thread-safe, callable from any thread, exactly once
/// (later calls are ignored). It posts the write onto the connection's strand.
using Responder = std::function<void(Response)>;

/// A route handler: adapts HTTP to a service call and eventually calls the responder.
using Handler = std::function<void(std::shared_ptr<RequestContext>, Responder)>;

/// Resolves a bearer token to a principal; nullopt for missing, bad, expired or revoked tokens.
/// Called on connection strands, concurrently.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual std::optional<Principal> authenticate(std::string_view bearer_token) = 0;
  /// The account (id, username, role, organization) when it may still act (exists and is not
  /// disabled), for credentials checked earlier (a stream ticket issued to it); nullopt otherwise.
  /// Any thread.
  virtual std::optional<Principal> active_account(std::string_view user_id) = 0;
};

/// Who may call a route. Deny by default: a route with an empty role set and public_route false
/// answers 403 to everyone.
struct Access {
  bool public_route = false;  ///< no token needed (healthz, login, ...)
  RoleSet roles;              ///< roles allowed when not public
  /// Also open to a session that may only enrol TOTP (Principal::totp_enrolment_only); every
  /// other route answers such a session 403 TOTP_ENROLMENT_REQUIRED.
  bool during_totp_enrolment = false;
  static Access open() { return Access{true, {}, false}; }
  static Access roles_of(RoleSet r) { return Access{false, r, false}; }
  static Access enrolment(RoleSet r) { return Access{false, r, true}; }
};

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, token68
/// syntax), or nullopt when the header is missing, repeated or malformed. Any thread.
std::optional<std::string_view> bearer_token(const Request& req);

/// Method + path-pattern routing with per-route access control.
/// Patterns are literal segments and `{name}` segments matching one non-empty segment; a last
/// segment `{name*}` matches one or more remaining segments (joined with '/'). Path segments are
/// percent-decoded before matching; empty, "." and ".." segments never match (404). When several
/// patterns match, literal segments win over `{name}`, which wins over `{name*}`. HEAD is
/// answered by the GET route when no HEAD route exists.
/// Unknown path: 404 NOT_FOUND. Known path, other method: 405 METHOD_NOT_ALLOWED with Allow.
/// Not public and no valid token: 401 UNAUTHENTICATED. Role not allowed: 403 PERMISSION_DENIED.
/// A TOTP-enrolment-only session on a route not open to it: 403 TOTP_ENROLMENT_REQUIRED.
/// Accept header allowing no answer type of the route: 406 NOT_ACCEPTABLE. Over a rate limit
/// (set_rate_limits): 429 RATE_LIMITED with Retry-After.
class Router {
 public:
  explicit Router(Authenticator* authenticator) : authenticator_(authenticator) {}

  /// Registers a route at start-up (not thread-safe; do it before serving). Throws
  /// std::invalid_argument for a malformed or duplicate pattern (a wiring bug, found at start-up).
  /// `produces` lists the media types of a route with a fixed answer type (metrics text, FHIR);
  /// empty means the answer is negotiated between JSON and protobuf. A request whose Accept header
  /// allows none of them is answered 406 NOT_ACCEPTABLE before the handler runs.
  void add(beast_http::verb method, std::string pattern, Access access, Handler handler,
           std::vector<std::string> produces = {});

  /// Routes one request: fills ctx->route, path_params, query, principal, then calls the
  /// handler or responds with the error itself. Thread-safe after start-up. The handler runs on
  /// the calling thread (HttpServer: the connection's strand), so it must not block; one that
  /// throws is answered 500 INTERNAL. Without an authenticator every non-public route is 401.
  void dispatch(std::shared_ptr<RequestContext> ctx, Responder respond) const;

  /// Abuse limits (either may be null): every request spends a token of its peer address's
  /// bucket before routing, and an authenticated one also of its account's bucket; an empty
  /// bucket is 429 RATE_LIMITED with Retry-After. Set at start-up; the limiters must outlive
  /// every dispatch.
  void set_rate_limits(RateLimiter* per_address, RateLimiter* per_account) {
    per_address_ = per_address;
    per_account_ = per_account;
  }

  /// The route pattern a target would match ("" when none), for metrics and logs.
  std::string match_pattern(std::string_view target) const;

 private:
  struct Route {
    beast_http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
    std::vector<std::string> produces;
  };
  const Route* best_route(const std::vector<std::string>& segments,
                          std::optional<beast_http::verb> method,
                          std::map<std::string, std::string, std::less<>>* params) const;

  Authenticator* authenticator_;
  std::vector<Route> routes_;
  RateLimiter* per_address_ = nullptr;
  RateLimiter* per_account_ = nullptr;
};

}  // namespace oshin::http
