{
  "targets": [
    {
      "target_name": "audiogen_litert",
      "sources": ["native/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-L<(module_root_dir)/vendor/linux-<(target_arch)", "-l:libLiteRt.so", "-Wl,-rpath,'$$ORIGIN'"],
          "actions": [{
            "action_name": "fetch_litert",
            "inputs": [],
            "outputs": ["<(module_root_dir)/vendor/linux-<(target_arch)/libLiteRt.so"],
            "action": ["node", "<(module_root_dir)/scripts/fetch-litert.mjs", "--arch", "<(target_arch)"]
          }],
          "copies": [{
            "destination": "<(PRODUCT_DIR)",
            "files": ["<(module_root_dir)/vendor/linux-<(target_arch)/libLiteRt.so"]
          }]
        }]
      ]
    }
  ]
}
