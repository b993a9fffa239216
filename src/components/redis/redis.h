// The redis component (components/component.h) over BackupRedis and the file and live restores,
// and the Redis settings it reads.
#pragma once

#include <memory>

#include "components/component.h"
#include "components/redis/redis_component.h"
#include "config/settings.h"

namespace stb {

RedisOptions RedisOptionsOf(const Settings& s);

std::unique_ptr<Component> NewRedisComponent();

}  // namespace stb
