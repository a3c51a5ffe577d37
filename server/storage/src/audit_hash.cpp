#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "oshin/storage/store.hpp"

namespace oshin::storage {
namespace {

// Names the encoding below; a new encoding gets a new tag so old chains stay verifiable.
constexpr std::string_view kDomainTag = "oshin.audit.v1";
constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// Feeds one field as an 8-byte big-endian length followed by its bytes, so no choice of field
// contents can move a boundary between fields.
bool update_field(EVP_MD_CTX* ctx, std::string_view field) {
  std::array<unsigned char, 8> length{};
  auto size = static_cast<std::uint64_t>(field.size());
  for (std::size_t i = length.size(); i > 0; --i) {
    length[i - 1] = static_cast<unsigned char>(size & 0xffU);
    size >>= 8U;
  }
  if (EVP_DigestUpdate(ctx, length.data(), length.size()) != 1) {
    return false;
  }
  return field.empty() || EVP_DigestUpdate(ctx, field.data(), field.size()) == 1;
}

}  // namespace

std::string audit_chain_hash(const std::string& prev_hash, const AuditEntry& entry) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return {};
  }
  const std::string seq = std::to_string(entry.seq);
  const std::string at_ms = std::to_string(entry.at_ms);
  const std::string_view prev = prev_hash.empty() ? kGenesisHash : std::string_view(prev_hash);
  const std::array<std::string_view, 12> fields{
      kDomainTag,
      prev,
      seq,
      at_ms,
      entry.actor_id,
      entry.actor_role,
      entry.action,
      entry.patient_id,
      entry.visit_id,
      entry.outcome,
      entry.request_id,
      entry.detail,
  };
  for (std::string_view field : fields) {
    if (!update_field(ctx.get(), field)) {
      return {};
    }
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &digest_size) != 1) {
    return {};
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{digest_size} * 2);
  for (std::size_t i = 0; i < digest_size; ++i) {
    hex.push_back(kHex[digest[i] >> 4U]);
    hex.push_back(kHex[digest[i] & 0x0fU]);
  }
  return hex;
}

}  // namespace oshin::storage
