#include "oshin/app/idempotency.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <memory>

#include "oshin/app/token.hpp"
#include "oshin/http/codec.hpp"
#include "oshin/v1/internal.pb.h"

namespace oshin::app {
namespace {

std::string deterministic_bytes(const google::protobuf::Message& msg) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  msg.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= 255 && std::all_of(key.begin(), key.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F;
  });
}

std::optional<http::Response> response_from(const http::Request& req,
                                            const v1::IdempotencyRecord& rec) {
  const auto* desc =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(rec.message_type());
  if (desc == nullptr) {
    return std::nullopt;
  }
  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc);
  if (prototype == nullptr) {
    return std::nullopt;
  }
  std::unique_ptr<google::protobuf::Message> msg(prototype->New());
  if (!msg->ParseFromString(rec.body())) {
    return std::nullopt;
  }
  auto resp = http::make_response(req, static_cast<http::beast_http::status>(rec.status()), *msg);
  resp.set("Idempotent-Replayed", "true");
  return resp;
}

}  // namespace

Idempotency::Begin Idempotency::begin(const http::RequestContext& ctx,
                                      const google::protobuf::Message& decoded_body) {
  auto header = ctx.request.find("Idempotency-Key");
  if (header == ctx.request.end() || !ctx.principal) {
    return std::optional<Draft>{};
  }
  std::string key(header->value());
  if (!valid_key(key)) {
    return http::make_error_response(ctx.request, Errc::invalid_argument,
                                     "Idempotency-Key must be 1-255 visible ASCII characters",
                                     "Idempotency-Key");
  }
  Draft d;
  d.account_id = ctx.principal->user_id;
  d.key = key;
  d.record_id = sha256_hex(d.account_id + '\n' + key);
  d.request_hash =
      sha256_hex(std::string(ctx.request.method_string()) + ' ' + ctx.route + '\n' +
                 decoded_body.GetTypeName() + '\n' + deterministic_bytes(decoded_body));
  auto existing = store_.get(std::string(kIdempotencyKind), d.record_id);
  if (!existing) {
    return http::make_error_response(ctx.request, Errc::unavailable);
  }
  if (!*existing) {
    return std::optional<Draft>{std::move(d)};
  }
  v1::IdempotencyRecord rec;
  if (!rec.ParseFromString((*existing)->body)) {
    return http::make_error_response(ctx.request, Errc::internal);
  }
  if (rec.request_hash() != d.request_hash) {
    return http::make_error_response(ctx.request, Errc::idempotency_key_reused,
                                     "this Idempotency-Key was used with a different request");
  }
  if (auto resp = response_from(ctx.request, rec)) {
    return std::move(*resp);
  }
  return http::make_error_response(ctx.request, Errc::internal);
}

Decorate Idempotency::remember(const std::optional<Draft>& draft, unsigned status) {
  if (!draft) {
    return {};
  }
  return [this, d = *draft, status](const google::protobuf::Message& result,
                                    storage::Transaction& tx) {
    v1::IdempotencyRecord rec;
    rec.set_account_id(d.account_id);
    rec.set_key(d.key);
    rec.set_request_hash(d.request_hash);
    // A refusal recorded with its visit (422) is remembered as the error it answered.
    rec.set_status(
        result.GetTypeName() == "oshin.v1.ErrorResponse" ? 422 : static_cast<std::int32_t>(status));
    rec.set_message_type(result.GetTypeName());
    rec.set_body(result.SerializeAsString());
    auto now_ms = to_unix_ms(clock_.now());
    rec.mutable_created_at()->set_seconds(now_ms / 1000);
    storage::PutRecord put;
    put.record.kind = std::string(kIdempotencyKind);
    put.record.id = d.record_id;
    put.record.body = rec.SerializeAsString();
    put.record.updated_at_ms = now_ms;
    put.must_not_exist = true;
    tx.mutations.emplace_back(std::move(put));
  };
}

std::optional<http::Response> Idempotency::replay(const http::RequestContext& ctx,
                                                  const Draft& draft) {
  auto existing = store_.get(std::string(kIdempotencyKind), draft.record_id);
  if (!existing || !*existing) {
    return std::nullopt;
  }
  v1::IdempotencyRecord rec;
  if (!rec.ParseFromString((*existing)->body)) {
    return std::nullopt;
  }
  if (rec.request_hash() != draft.request_hash) {
    return http::make_error_response(ctx.request, Errc::idempotency_key_reused,
                                     "this Idempotency-Key was used with a different request");
  }
  return response_from(ctx.request, rec);
}

}  // namespace oshin::app
