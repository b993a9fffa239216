#include "wal/slot_loss.h"

#include <cstdio>
#include <fstream>
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
  for (const auto& j : doc) {
    if (!j.is_object()) continue;
    WalLoss l;
    l.cluster = j.value("cluster", "");
    l.slot = j.value("slot", "");
    l.tli = j.value("timeline", 0u);
    l.from_lsn = j.value("from_lsn", uint64_t{0});
    l.to_lsn = j.value("to_lsn", uint64_t{0});
    l.at = j.value("at", 0.0);
    out.push_back(l);
  }
  return out;
}

Status RecordWalLoss(const std::string& state_dir, const WalLoss& loss) {
  ASSIGN_OR_RETURN(auto losses, LoadWalLosses(state_dir));
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
  std::string path = PathOf(state_dir), tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << doc.dump(1) << "\n";
    if (!f.flush()) return IoError("writing " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("renaming " + tmp, errno);
  return Status::Ok();
}

std::vector<WalLoss> UnhealedWalLosses(const std::vector<WalLoss>& losses,
                                       const std::multimap<std::string, double>& window_starts) {
  std::vector<WalLoss> out;
  for (const auto& l : losses) {
    bool healed = false;
    auto [b, e] = window_starts.equal_range(l.cluster);
    for (auto it = b; it != e; ++it) healed = healed || it->second >= l.at;
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
