#include "components/files/tree.h"

#include <nlohmann/json.hpp>

namespace stb {

using json = nlohmann::json;

namespace {

// Exactly what the JSON encoder accepts (it rejects overlong forms, surrogates, bytes F5-FF).
bool EncodableAsJson(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      try {
        (void)json(s).dump();
        return true;
      } catch (const json::type_error&) {
        return false;
      }
    }
  }
  return true;  // plain ASCII needs no check
}

// JSON strings must be UTF-8; Linux names are bytes. Others are stored as hex under key+"x".
void PutName(json& j, const char* key, const std::string& s) {
  if (EncodableAsJson(s)) {
    j[key] = s;
  } else {
    j[std::string(key) + "x"] = ToHex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
}

std::string GetName(const json& j, const char* key) {
  if (auto it = j.find(key); it != j.end()) return it->get<std::string>();
  auto hex = FromHex(j.at(std::string(key) + "x").get<std::string>());
  if (!hex) throw std::runtime_error("bad hex name");
  return std::string(hex->begin(), hex->end());
}

}  // namespace

bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path[0] == '/' || path.find('\0') != std::string::npos) return false;
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string::npos) return true;
    start = end + 1;
  }
}

Bytes SerializeTree(const Tree& tree) {
  json j = {{"version", 1}, {"roots", json::array()}, {"nodes", json::array()}};
  for (const auto& r : tree.roots) {
    json jr;
    PutName(jr, "name", r.name);
    PutName(jr, "path", r.path);
    j["roots"].push_back(std::move(jr));
  }
  json& nodes = j["nodes"];
  for (const auto& n : tree.nodes) {
    json jn;
    PutName(jn, "p", n.path);
    jn["t"] = n.type == FileNode::Type::kDir ? "d" : n.type == FileNode::Type::kFile ? "f" : "l";
    jn["m"] = n.mode;
    jn["u"] = n.uid;
    jn["g"] = n.gid;
    jn["mt"] = n.mtime_ns;
    if (n.type == FileNode::Type::kFile) {
      jn["s"] = n.size;
      jn["i"] = n.inode;
      json c = json::array();
      for (const auto& id : n.content) c.push_back(id.Hex());
      jn["c"] = std::move(c);
    }
    if (n.type == FileNode::Type::kSymlink) PutName(jn, "l", n.target);
    nodes.push_back(std::move(jn));
  }
  std::string s = j.dump();
  return Bytes(s.begin(), s.end());
}

StatusOr<Tree> ParseTree(const Bytes& data) {
  try {
    json j = json::parse(AsString(data));
    Tree t;
    for (const auto& r : j.at("roots")) t.roots.push_back({GetName(r, "name"), GetName(r, "path")});
    const json& nodes = j.at("nodes");
    t.nodes.reserve(nodes.size());
    for (const auto& jn : nodes) {
      FileNode n;
      n.path = GetName(jn, "p");
      std::string type = jn.at("t");
      n.type = type == "d" ? FileNode::Type::kDir : type == "f" ? FileNode::Type::kFile : FileNode::Type::kSymlink;
      if (type != "d" && type != "f" && type != "l") throw std::runtime_error("unknown node type " + type);
      n.mode = jn.at("m");
      n.uid = jn.at("u");
      n.gid = jn.at("g");
      n.mtime_ns = jn.at("mt");
      if (n.type == FileNode::Type::kFile) {
        n.size = jn.at("s");
        n.inode = jn.at("i");
        for (const auto& c : jn.at("c")) {
          auto id = Id::FromHex(c.get<std::string>());
          if (!id) throw std::runtime_error("bad blob id in " + n.path);
          n.content.push_back(*id);
        }
      }
      if (n.type == FileNode::Type::kSymlink) n.target = GetName(jn, "l");
      t.nodes.push_back(std::move(n));
    }
    return t;
  } catch (const std::exception& e) {
    return Corrupt(std::string("tree: ") + e.what());
  }
}

}  // namespace stb
