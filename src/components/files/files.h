// The file components (components/component.h): player_saves, configuration and application are
// one class, each named with its setting, roots and excludes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "components/component.h"
#include "config/settings.h"

namespace stb {

// The roots and excludes a file component backs up; no roots: not configured.
struct FileSource {
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
};

// name: the component's key; variable: the setting that configures it (named in errors).
std::unique_ptr<Component> NewFilesComponent(std::string name, std::string variable,
                                             std::function<FileSource(const Settings&)> source);

std::unique_ptr<Component> NewPlayerSavesComponent();    // PLAYER_SAVES_DIR
std::unique_ptr<Component> NewConfigurationComponent();  // CONFIG_DIRS
std::unique_ptr<Component> NewApplicationComponent();    // APP_DIR, APP_EXCLUDE

}  // namespace stb
