#include <algorithm>
#include <boost/json.hpp>
#include <string>

#include "oshin/app/web_assets.hpp"
#include "oshin/http/codec.hpp"

namespace oshin::app {
namespace {

namespace bh = http::beast_http;

/// Self only; the stream needs ws:/wss: on the same host (a `'self'` connect-src does not cover
/// WebSocket schemes in every browser). No inline script or style, no frames, no plugins.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'";

std::string_view content_type_of(std::string_view path) {
  auto ends_with = [path](std::string_view ext) { return path.ends_with(ext); };
  if (ends_with(".html")) {
    return "text/html; charset=utf-8";
  }
  if (ends_with(".js") || ends_with(".mjs")) {
    return "text/javascript; charset=utf-8";
  }
  if (ends_with(".css")) {
    return "text/css; charset=utf-8";
  }
  if (ends_with(".svg")) {
    return "image/svg+xml";
  }
  if (ends_with(".json") || ends_with(".webmanifest")) {
    return "application/json";
  }
  if (ends_with(".png")) {
    return "image/png";
  }
  return "application/octet-stream";
}

/// The media type without parameters, for the router's Accept check.
std::string media_type_of(std::string_view path) {
  auto type = content_type_of(path);
  return std::string(type.substr(0, type.find(';')));
}

const WebAsset* find_asset(std::string_view path) {
  auto assets = web_assets();
  auto it = std::find_if(assets.begin(), assets.end(),
                         [path](const WebAsset& a) { return a.path == path; });
  return it == assets.end() ? nullptr : &*it;
}

http::Response asset_response(const http::Request& req, const WebAsset& asset) {
  auto res = http::make_raw_response(req, bh::status::ok, std::string(asset.data),
                                     content_type_of(asset.path));
  // Revalidate every time: a new server build serves the new client at once.
  res.set(bh::field::cache_control, "no-cache");
  res.set("Content-Security-Policy", kCsp);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  return res;
}

}  // namespace

void add_web_routes(http::Router& router, const v1::ServerConfig& config) {
  // What the client needs to draw the board: the center and its service radius (any signed-in
  // role; no patient data).
  boost::json::object center;
  center["name"] = config.center().name();
  center["location"] = {{"lat", config.center().location().lat()},
                        {"lon", config.center().location().lon()}};
  center["serviceRadiusKm"] = config.has_service_radius_km() ? config.service_radius_km() : 16.0;
  center["timezone"] = config.has_timezone() ? config.timezone() : std::string("Asia/Tokyo");
  router.add(
      bh::verb::get, "/v1/center", http::Access::roles_of(RoleSet::all()),
      [body = boost::json::serialize(center)](std::shared_ptr<http::RequestContext> ctx,
                                              http::Responder respond) {
        respond(http::make_raw_response(ctx->request, bh::status::ok, body, "application/json"));
      },
      {"application/json"});

  router.add(bh::verb::get, "/", http::Access::open(),
             [](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               const WebAsset* index = find_asset("index.html");
               if (index == nullptr) {
                 respond(http::make_error_response(ctx->request, Errc::not_found));
                 return;
               }
               respond(asset_response(ctx->request, *index));
             },
             {"text/html"});
  // Every asset's own type, plus */* so a browser's Accept for scripts, styles and images passes.
  std::vector<std::string> types;
  for (const auto& asset : web_assets()) {
    auto type = media_type_of(asset.path);
    if (std::find(types.begin(), types.end(), type) == types.end()) {
      types.push_back(type);
    }
  }
  router.add(
      bh::verb::get, "/app/{path*}", http::Access::open(),
      [](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        const WebAsset* asset = find_asset(ctx->param("path"));
        if (asset == nullptr) {
          respond(http::make_error_response(ctx->request, Errc::not_found));
          return;
        }
        respond(asset_response(ctx->request, *asset));
      },
      std::move(types));
}

}  // namespace oshin::app
