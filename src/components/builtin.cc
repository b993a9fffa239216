// The built-in components and their places in the backup order (the guide's "What's included")
// and the restore order (its "Restore Process"). Adding a component: its file and one line here.
#include "components/component.h"
#include "components/database/database.h"
#include "components/files/files.h"
#include "components/redis/redis.h"

namespace stb {

const ComponentRegistry& Components() {
  static const ComponentRegistry* registry = [] {
    auto* r = new ComponentRegistry;
    r->Add(NewDatabaseComponent(), /*backup=*/1, /*restore=*/2);
    r->Add(NewRedisComponent(), /*backup=*/2, /*restore=*/3);
    r->Add(NewPlayerSavesComponent(), /*backup=*/3, /*restore=*/4);
    r->Add(NewConfigurationComponent(), /*backup=*/4, /*restore=*/1);
    r->Add(NewApplicationComponent(), /*backup=*/5, /*restore=*/5);
    return r;
  }();
  return *registry;
}

}  // namespace stb
