{
  "targets": [
    {
      "target_name": "delaytop",
      "sources": [
        "addon.cc", "nl.cc", "transport.cc", "query-engine.cc", "query.cc", "exit-reader.cc", "exit-lines.cc", "listener.cc", "cgroup.cc", "ioprio.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"]
    }
  ]
}
