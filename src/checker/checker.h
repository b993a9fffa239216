// Verifies a repository: every index, snapshot and tree readable, every referenced blob indexed
// and its pack present with the right size; with read_data, every byte of a share of the packs
// (pack hash, header against index, each blob decrypted and checked against its id).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "repository/repository.h"

namespace stb {

class ComponentRegistry;

struct CheckOptions {
  bool read_data = false;
  double read_data_percent = 100;  // with read_data: share of packs read, chosen at random
  int workers = 2;
  const ComponentRegistry* components = nullptr;  // whose entries are visited; nullptr: the built-ins
};

struct CheckResult {
  std::vector<std::string> errors;    // each names the damaged object
  std::vector<std::string> warnings;  // e.g. unreferenced packs left by an interrupted backup
  nlohmann::json report;
  bool ok() const { return errors.empty(); }
};

CheckResult CheckRepository(Repository& repo, const CheckOptions& opt, Progress& progress);

}  // namespace stb
