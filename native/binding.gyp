{
  "targets": [
    {
      "target_name": "tinyseek",
      "sources": [
        "src/addon.c",
        "src/pool.c",
        "src/gemm.c",
        "src/gemv.c",
        "src/gemm16.c",
        "src/elementwise.c",
        "src/strided.c",
        "src/reduce.c",
        "src/softmax.c",
        "src/norm.c",
        "src/rope.c",
        "src/attention.c",
        "src/index.c",
        "src/optim.c",
        "src/mmap.c"
      ],
      "include_dirs": [
        "/usr/include/x86_64-linux-gnu",
        "/usr/include/openblas"
      ],
      "cflags!": ["-O2", "-O0"],
      "cflags": [
        "-O3",
        "-std=gnu11",
        "-march=x86-64-v3",
        "-mtune=generic",
        "-fno-math-errno",
        "-fno-trapping-math",
        "-fvisibility=hidden",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers"
      ],
      "libraries": ["-lopenblas", "-lpthread", "-lm"]
    }
  ]
}
