#include "wal/slot_loss.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "repository/repository.h"
#include "repository/wal_store.h"

namespace stb {

using json = nlohmann::json;

namespace {

std::string PathOf(const std::string& state_dir) { return state_dir + "/wal-slot-lost.json"; }

}  // namespace

StatusOr<std::vector<WalLoss>> LoadWalLosses(const std::string& state_dir) {
  std::vector<WalLoss> out;
  auto bytes = ReadWholeFile(PathOf(state_dir));
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return out;
    return bytes.status();
  }
  json doc = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!doc.is_array()) return Corrupt(PathOf(state_dir) + " is not a JSON array: delete it after a full backup");
  auto bad = [&] { return Corrupt(PathOf(state_dir) + " has a malformed entry: delete it after a full backup"); };
  for (const auto& j : doc) {
    if (!j.is_object()) return bad();
    WalLoss l;
    // Typed reads only: json::value throws on a wrong type, and a damaged file must not end check.
    auto str = [&](const char* k, std::string& v) {
      auto it = j.find(k);
      if (it == j.end() || !it->is_string()) return false;
      v = it->get<std::string>();
      return true;
    };
    auto uint = [&](const char* k, uint64_t& v) {
      auto it = j.find(k);
      if (it == j.end() || !it->is_number_unsigned()) return false;
      v = it->get<uint64_t>();
      return true;
    };
    uint64_t tli = 0;
    auto at = j.find("at");
    if (!str("cluster", l.cluster) || !str("slot", l.slot) || !uint("timeline", tli) || tli > UINT32_MAX ||
        !uint("from_lsn", l.from_lsn) || !uint("to_lsn", l.to_lsn) || at == j.end() || !at->is_number()) {
      return bad();
    }
    l.tli = uint32_t(tli);
    l.at = at->get<double>();
    out.push_back(l);
  }
  return out;
}

Status RecordWalLoss(const std::string& state_dir, const WalLoss& loss) {
  ASSIGN_OR_RETURN(auto losses, LoadWalLosses(state_dir));
  // A restarted wal-receive finds the same hole again: it is the loss already recorded, at the
  // time it was first found (a later time would make the base backup taken since look too old).
  for (const auto& l : losses) {
    if (l.cluster == loss.cluster && l.tli == loss.tli && l.from_lsn <= loss.from_lsn && loss.to_lsn <= l.to_lsn) {
      return Status::Ok();
    }
  }
  losses.push_back(loss);
  json doc = json::array();
  for (const auto& l : losses) {
    doc.push_back({{"cluster", l.cluster},
                   {"slot", l.slot},
                   {"timeline", l.tli},
                   {"from_lsn", l.from_lsn},
                   {"to_lsn", l.to_lsn},
                   {"at", l.at},
                   {"description", DescribeWalLoss(l)}});
  }
  RETURN_IF_ERROR(MakeDirs(state_dir));
  // Durable: a loss record lost to a power cut would let check pass over a real gap.
  return ReplaceFileDurably(PathOf(state_dir), doc.dump(1) + "\n");
}

std::vector<WalLoss> UnhealedWalLosses(const std::vector<WalLoss>& losses,
                                       const std::multimap<std::string, double>& window_starts,
                                       const std::multimap<std::string, uint64_t>& window_start_lsns) {
  std::vector<WalLoss> out;
  for (const auto& l : losses) {
    bool healed = false;
    auto [b, e] = window_starts.equal_range(l.cluster);
    for (auto it = b; it != e; ++it) healed = healed || it->second >= l.at;
    auto [lb, le] = window_start_lsns.equal_range(l.cluster);
    for (auto it = lb; it != le; ++it) healed = healed || it->second >= l.to_lsn;
    if (!healed) out.push_back(l);
  }
  return out;
}

std::string DescribeWalLoss(const WalLoss& l) {
  return "WAL " + FormatLsn(l.from_lsn) + ".." + FormatLsn(l.to_lsn) + " on timeline " + std::to_string(l.tli) +
         " of cluster " + l.cluster + " (slot " + l.slot +
         ") was removed by the server before wal-receive stored it (" + IsoTimestamp(l.at) + ")";
}

}  // namespace stb
