{
  "targets": [
    {
      "target_name": "mqbench",
      "sources": [
        "<!@(ls -1 native/*.cc)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-pthread"
      ],
      "ldflags": [
        "-pthread"
      ]
    },
    {
      "target_name": "mqbench-agent",
      "type": "executable",
      "sources": [
        "<!@(ls -1 native/*.cc native/agent/*.cc | grep -v '^native/addon')"
      ],
      "include_dirs": [
        "native",
        "native/agent"
      ],
      "defines": [
        "MQB_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-pthread"
      ],
      "ldflags": [
        "-static",
        "-pthread",
        "-s"
      ]
    }
  ]
}
