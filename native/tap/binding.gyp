{
  "targets": [
    {
      "target_name": "tap",
      "sources": ["tap.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources!": ["tap.c"] }]
      ]
    }
  ]
}
