#include <algorithm>

#include "components/component.h"

namespace stb {

void ComponentRegistry::Add(std::unique_ptr<Component> c, int backup_rank, int restore_rank) {
  entries_.push_back({std::move(c), backup_rank, restore_rank});
}

namespace {

template <typename Rank>
std::vector<Component*> Ordered(const auto& entries, Rank rank) {
  std::vector<const std::remove_cvref_t<decltype(entries.front())>*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(), [&](auto* a, auto* b) { return rank(*a) < rank(*b); });
  std::vector<Component*> out;
  for (auto* e : sorted) out.push_back(e->component.get());
  return out;
}

}  // namespace

std::vector<Component*> ComponentRegistry::BackupOrder() const {
  return Ordered(entries_, [](const Entry& e) { return e.backup_rank; });
}

std::vector<Component*> ComponentRegistry::RestoreOrder() const {
  return Ordered(entries_, [](const Entry& e) { return e.restore_rank; });
}

Component* ComponentRegistry::Find(std::string_view name) const {
  for (const auto& e : entries_) {
    if (e.component->name() == name) return e.component.get();
  }
  return nullptr;
}

std::string ComponentRegistry::Names() const {
  std::string out;
  for (Component* c : RestoreOrder()) out += (out.empty() ? "" : ", ") + std::string(c->name());
  return out;
}

}  // namespace stb
