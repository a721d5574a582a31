{
  "targets": [
    {
      "target_name": "nlkit",
      "sources": [
        "native/addon.cc",
        "native/common.cc",
        "native/file_lock.cc",
        "native/held_fd.cc",
        "native/netns.cc",
        "native/netlink_io.cc",
        "native/netlink_index.cc",
        "native/netlink_socket.cc",
        "native/inet_socket.cc",
        "native/tun.cc",
        "native/udp_receiver.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      # Never unloaded: Node unloads an addon when the last worker that loaded it ends, and the namespace
      # thread (native/netns.cc, one per process, ends 2 s after its last job) would run unmapped code.
      "ldflags": ["-Wl,-z,nodelete"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
