#include <google/protobuf/empty.pb.h>

#include <memory>
#include <utility>

#include "oshin/http/codec.hpp"
#include "oshin/stream/ticket_service.hpp"

namespace oshin::stream {

void add_stream_routes(http::Router& router, TicketService& tickets) {
  namespace bh = boost::beast::http;
  router.add(bh::verb::post, "/v1/stream-tickets", http::Access::roles_of(RoleSet::all()),
             [&tickets](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               // The request carries nothing; a body, if any, must be an empty object.
               google::protobuf::Empty empty;
               http::ApiError error;
               if (!http::decode_body(ctx->request, empty, &error)) {
                 return respond(http::make_error_response(ctx->request, error));
               }
               const Principal& who = *ctx->principal;
               tickets.issue(who, [ctx, respond](Result<v1::StreamTicket> ticket) {
                 if (!ticket) {
                   return respond(http::make_error_response(ctx->request, to_errc(ticket.error())));
                 }
                 http::Response res =
                     http::make_response(ctx->request, bh::status::created, *ticket);
                 // A bearer credential: never cached.
                 res.set(bh::field::cache_control, "no-store");
                 respond(std::move(res));
               });
             });
}

}  // namespace oshin::stream
